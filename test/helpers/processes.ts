import { readdirSync, readFileSync } from 'node:fs'

/**
 * Live processes on this host (not zombies) whose command line contains `text`: how tests see
 * that a sandboxed program is gone, since its own pids are those of its pid namespace.
 */
export function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        return cmdline.includes(text) && !/^\d+ \(.*\) Z/.test(stat)
      } catch {
        return false
      }
    })
    .map(Number)
}
