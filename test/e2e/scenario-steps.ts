/**
 * Steps several end-to-end scenarios share: the webhook payloads a person's actions make GitHub
 * send (a labeled issue holding a manifest, a push with the files each commit changed), and
 * waiting for what DevSys logged.
 */
import { git } from '../helpers/git-remote.js'
import { examplePayload } from '../helpers/payloads.js'
import { testLabel } from '../intake/harness.js'
import type { DevsysProcess } from './devsys-process.js'

/** `issues.labeled` for an issue whose body holds `manifest` (JSON text) in a code block. */
export function labeledIssuePayload(manifest: string, cloneUrl: string) {
  return examplePayload('issues', 'labeled', (p) => {
    p.issue.body = `\`\`\`json\n${manifest}\n\`\`\``
    p.label = testLabel('devsys')
    p.issue.labels = [testLabel('devsys')]
    p.repository.clone_url = cloneUrl
    p.repository.default_branch = 'main'
  })
}

/**
 * The `push` GitHub sends when `ref` moves from `before` to `after` in the bare repository:
 * one entry per pushed commit (oldest first) with the paths it added, removed and modified
 * against its first parent, as GitHub lists them, and `head_commit` the last.
 */
export function pushPayload(opts: {
  bare: string
  ref: string
  before: string
  after: string
  cloneUrl: string
}) {
  const shas = git(opts.bare, 'rev-list', '--reverse', `${opts.before}..${opts.after}`)
    .split('\n')
    .filter((s) => s !== '')
  const commits = shas.map((sha) => {
    const changes = git(
      opts.bare,
      'diff-tree',
      '-r',
      '--name-status',
      '--no-commit-id',
      `${sha}^1`,
      sha,
    )
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t') as [string, string])
    const paths = (status: string) => changes.filter(([s]) => s === status).map(([, p]) => p)
    const person = {
      name: 'Monalisa Octocat',
      email: 'mona@github.example.test',
      username: 'octocat',
    }
    return {
      id: sha,
      tree_id: git(opts.bare, 'rev-parse', `${sha}^{tree}`),
      distinct: true,
      message: git(opts.bare, 'log', '-1', '--format=%s', sha),
      timestamp: '2025-01-01T00:00:00Z',
      url: `https://github.example.test/Codertocat/Hello-World/commit/${sha}`,
      author: person,
      committer: person,
      added: paths('A'),
      removed: paths('D'),
      modified: paths('M'),
    }
  })
  return examplePayload('push', undefined, (p) => {
    p.ref = opts.ref
    p.before = opts.before
    p.after = opts.after
    p.deleted = false
    p.created = false
    p.commits = commits
    p.head_commit = commits.at(-1) ?? null
    p.repository.clone_url = opts.cloneUrl
    p.repository.default_branch = 'main'
    p.repository.master_branch = 'main'
  })
}

/** DevSys's JSON log lines so far, parsed (lines that are not JSON are left out). */
export function logLines(devsys: DevsysProcess): Record<string, unknown>[] {
  return devsys
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown
        return typeof parsed === 'object' && parsed !== null
          ? [parsed as Record<string, unknown>]
          : []
      } catch {
        return []
      }
    })
}

/** Waits until DevSys logs a line matching `match` (60 s by default) and returns it. */
export async function waitForLog(
  devsys: DevsysProcess,
  match: (line: Record<string, unknown>) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = logLines(devsys).find(match)
    if (found) return found
    if (Date.now() > deadline) {
      throw new Error(
        `DevSys did not log ${what} within ${timeoutMs} ms. Its output (last 6000 chars):\n${devsys.output().slice(-6000)}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
