import { readdirSync, readFileSync } from 'node:fs'

/**
 * Ends a bubblewrap sandbox and everything in it, however early. bubblewrap forks the
 * namespace's pid 1 in a session of its own, which dies with bubblewrap only once it has set
 * its parent-death signal: killed in the moment before that, it would live on as an orphan. So
 * bubblewrap is frozen first (SIGSTOP: it can fork no more), its children (pid 1 of the
 * sandbox: killing it ends the whole pid namespace) are killed, then bubblewrap itself.
 */
export async function killSandbox(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGSTOP')
  } catch {
    return // already gone
  }
  for (let i = 0; i < 100 && !isStopped(pid); i++) await delay(2)
  for (const child of childrenOf(pid)) signal(child, 'SIGKILL')
  signal(pid, 'SIGKILL')
}

/** Stopped (T), or gone / a zombie: either way it forks no more. */
function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state === 'T' || state === 't' || state === 'Z' || state === 'X'
  } catch {
    return true
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .split(' ')
        .filter((text) => text.trim() !== '')
        .map(Number),
    )
  } catch {
    return []
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // gone already
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
