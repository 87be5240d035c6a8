import { git } from './plain-git.js'

export interface Verification {
  branches: number
  ok: boolean
  problems: string[]
}

/**
 * Checks the remote after the run: every branch exists, is exactly one commit on top of main,
 * and has the same tree; that tree holds main's files and every generated file, byte for byte.
 */
export async function verifyBranches(input: {
  bareDir: string
  branches: string[]
  mainFiles: string[]
  generated: ReadonlyMap<string, Buffer>
}): Promise<Verification> {
  const { bareDir } = input
  const problems: string[] = []
  const main = (await git(bareDir, ['rev-parse', 'refs/heads/main'])).trim()
  const reference = input.branches[0]
  if (reference === undefined) return { branches: 0, ok: false, problems: ['no branches'] }
  const tree = (await git(bareDir, ['rev-parse', `refs/heads/${reference}^{tree}`])).trim()

  const listed = new Set(
    (await git(bareDir, ['ls-tree', '-r', '--name-only', tree])).split('\n').filter(Boolean),
  )
  for (const file of [...input.mainFiles, ...input.generated.keys()]) {
    if (!listed.has(file)) problems.push(`${reference} lacks ${file}`)
  }
  for (const [file, content] of input.generated) {
    const stored = await git(bareDir, ['cat-file', 'blob', `${tree}:${file}`]).catch(() => null)
    if (stored !== content.toString('utf8')) problems.push(`${reference}:${file} differs`)
  }

  const refs = new Set(
    (await git(bareDir, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/']))
      .split('\n')
      .filter(Boolean),
  )
  for (const branch of input.branches) {
    if (!refs.has(branch)) {
      problems.push(`${branch} was not pushed`)
      continue
    }
    const parents = (await git(bareDir, ['rev-parse', `refs/heads/${branch}^@`])).trim()
    const branchTree = (await git(bareDir, ['rev-parse', `refs/heads/${branch}^{tree}`])).trim()
    if (parents !== main) problems.push(`${branch} is not one commit on main`)
    if (branchTree !== tree) problems.push(`${branch} has another tree than ${reference}`)
  }
  return { branches: input.branches.length, ok: problems.length === 0, problems }
}
