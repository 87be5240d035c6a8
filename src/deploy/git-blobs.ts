import { execFile } from 'node:child_process'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * The git blob id of each file of a checkout whose working-tree copy is the one git wrote
 * (`git ls-files --stage`, minus what `git diff-files` finds changed since): files whose blob
 * is unchanged since a release's marker need not be read and hashed again. Regular files only
 * (not links or submodules). Null when `dir` is not a git checkout, or git fails: the caller
 * then hashes every file.
 */
export async function cleanBlobs(dir: string): Promise<Map<string, string> | null> {
  if (
    !(await access(join(dir, '.git')).then(
      () => true,
      () => false,
    ))
  )
    return null
  const git = (args: string[]) =>
    run('git', ['-C', dir, ...args], { maxBuffer: 1 << 28, encoding: 'utf8' }).then((r) => r.stdout)
  try {
    const [staged, changed] = await Promise.all([
      git(['ls-files', '--stage', '-z']),
      git(['diff-files', '--name-only', '-z']),
    ])
    const dirty = new Set(changed.split('\0'))
    const blobs = new Map<string, string>()
    for (const entry of staged.split('\0')) {
      // "<mode> <blob> <stage>\t<path>"
      const tab = entry.indexOf('\t')
      const [mode, blob, stage] = entry.slice(0, tab).split(' ')
      const path = entry.slice(tab + 1)
      if (tab === -1 || stage !== '0' || (mode !== '100644' && mode !== '100755')) continue
      if (blob !== undefined && !dirty.has(path)) blobs.set(path, blob)
    }
    return blobs
  } catch {
    return null
  }
}
