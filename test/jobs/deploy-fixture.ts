import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type nock from 'nock'
import { TASK_SPEC_PATH } from '../../src/generate/record-task.js'
import { buildTaskSpec } from '../../src/manifest/build-task-spec.js'
import type { Manifest } from '../../src/manifest/types.js'
import { createRemote, git } from '../helpers/git-remote.js'
import type { DeploymentBody } from '../helpers/github.js'
import {
  nockCommitPulls,
  nockCreateCheckRun,
  nockCreateDeployment,
  nockCreateIssueComment,
  nockDeploymentStatus,
  nockGetBranch,
  nockGetCollaboratorPermission,
  nockGetContent,
  nockUpdateCheckRun,
} from '../helpers/github.js'
import { examplePayload } from '../helpers/payloads.js'
import type { IntakeHarness } from '../intake/harness.js'

export const OWNER = 'octo-org'
export const REPO = 'hello-world'
export const CONFIG = '.github/devsys.yml'
export const TASK = 'hello-site'
export const BRANCH = `devsys/${TASK}`
export const PR = 5

/** The task's manifest: one page whose text the acceptance check looks for. */
export const MANIFEST = {
  id: TASK,
  title: 'Hello site',
  stack: 'php',
  stories: [{ as: 'visitor', want: 'a greeting' }],
  acceptance: [{ id: 'home', path: '/', status: 200, bodyContains: ['Hello from DevSys'] }],
}

/**
 * A repository on disk standing in for GitHub: a bare repo (the payloads' clone_url) and a work
 * clone to commit from. `commit` writes files on a branch and pushes it; `merge` merges the task
 * branch into main with a merge commit, as GitHub's merge button does.
 */
export class SiteRepo {
  readonly root: string
  readonly bare: string
  readonly work: string

  constructor() {
    const remote = createRemote()
    this.root = remote.root
    this.bare = remote.bare
    this.work = join(remote.root, 'work')
    git(this.root, 'clone', '-q', this.bare, this.work)
  }

  /** Commits `files` on `branch` (created from main when new) and pushes; returns the commit. */
  commit(branch: string, files: Record<string, string | null>, message = 'change'): string {
    const exists = git(this.work, 'branch', '--list', branch) !== ''
    git(this.work, 'checkout', '-q', ...(exists ? [branch] : ['-b', branch, 'main']))
    for (const [path, text] of Object.entries(files)) {
      const abs = join(this.work, path)
      if (text === null) git(this.work, 'rm', '-q', path)
      else {
        mkdirSync(join(abs, '..'), { recursive: true })
        writeFileSync(abs, text)
      }
    }
    git(this.work, 'add', '-A')
    git(this.work, 'commit', '-q', '-m', message)
    git(this.work, 'push', '-q', 'origin', branch)
    return git(this.work, 'rev-parse', 'HEAD')
  }

  /** Merges `branch` into main (--no-ff) and pushes main; returns the merge commit. */
  merge(branch: string): string {
    git(this.work, 'checkout', '-q', 'main')
    git(this.work, 'pull', '-q', '--ff-only', 'origin', 'main')
    git(
      this.work,
      'merge',
      '-q',
      '--no-ff',
      '-m',
      `Merge pull request #${PR} from ${branch}`,
      branch,
    )
    git(this.work, 'push', '-q', 'origin', 'main')
    return git(this.work, 'rev-parse', 'HEAD')
  }

  /** Refuses pushes to `branch` as GitHub's branch protection does (a pre-receive hook). */
  protect(branch: string): void {
    const hook = join(this.bare, 'hooks', 'pre-receive')
    writeFileSync(
      hook,
      `#!/bin/sh\nwhile read old new ref; do\n  if [ "$ref" = "refs/heads/${branch}" ]; then\n    echo "GH006: Protected branch update failed for $ref." >&2\n    exit 1\n  fi\ndone\n`,
      { mode: 0o755 },
    )
  }

  hasBranch(branch: string): boolean {
    return git(this.bare, 'branch', '--list', branch) !== ''
  }

  sha(ref: string): string {
    return git(this.bare, 'rev-parse', ref)
  }

  log(ref: string): string {
    return git(this.bare, 'log', '--format=%s%n%b', ref)
  }
}

/** The page of one version of the site. */
export function page(text: string): Record<string, string> {
  return { 'public/index.php': `<?php echo 'Hello from DevSys: ' . '${text}';\n` }
}

/**
 * The task record DevSys's generators commit with a task's code (`.devsys/task.yml`): a deploy
 * of a push that is no task's merge is verified against the task whose record is in its tree.
 */
export function taskRecord(manifest: object = MANIFEST): Record<string, string> {
  const spec = buildTaskSpec(manifest as Manifest, {
    kind: 'issue',
    repo: `${OWNER}/${REPO}`,
    issue: 1,
    requester: 'mona',
  })
  return { [TASK_SPEC_PATH]: spec }
}

/** Stores the task (from an issue, with its PR) as the generate job would have left it. */
export async function saveTask(devsys: IntakeHarness, site: SiteRepo, manifest: object = MANIFEST) {
  await devsys.store.saveTask({
    id: TASK,
    title: 'Hello site',
    source: {
      kind: 'issue',
      repo: `${OWNER}/${REPO}`,
      issue: 1,
      key: `issue:${OWNER}/${REPO}#1`,
      requester: 'mona',
      installationId: 1,
    },
    manifestText: JSON.stringify(manifest),
    spec: 'spec',
  })
  await devsys.store.setTaskCode(
    { repo: `${OWNER}/${REPO}`, id: TASK },
    {
      branch: BRANCH,
      headSha: site.sha(site.hasBranch(BRANCH) ? BRANCH : 'main'),
      pullRequest: { number: PR, url: `https://github.com/${OWNER}/${REPO}/pull/${PR}` },
    },
    'test',
  )
}

/** The official push example, as GitHub sends it for a push of `sha` to `branch`. */
export function pushPayload(site: SiteRepo, sha: string, branch = 'main') {
  return examplePayload('push', undefined, (p) => {
    p.ref = `refs/heads/${branch}`
    p.after = sha
    p.deleted = false
    p.commits = []
    p.repository.name = REPO
    p.repository.full_name = `${OWNER}/${REPO}`
    if (p.repository.owner) p.repository.owner.login = OWNER
    p.repository.clone_url = site.bare
    p.repository.default_branch = 'main'
    p.repository.master_branch = 'main'
  })
}

/** The official comment example: `body` commented on PR #5 by `user`. */
export function commentPayload(site: SiteRepo, body: string, user = 'mona', id = 3001) {
  return examplePayload('issue_comment', 'created', (p) => {
    p.issue.number = PR
    p.issue.pull_request = { url: '', html_url: '', diff_url: '', patch_url: '', merged_at: null }
    p.comment.body = body
    p.comment.id = id
    p.comment.user = { ...p.comment.user, login: user, type: 'User' } as typeof p.comment.user
    p.sender = { ...p.sender, login: user, type: 'User' }
    p.repository.name = REPO
    p.repository.full_name = `${OWNER}/${REPO}`
    p.repository.owner.login = OWNER
    p.repository.clone_url = site.bare
    p.repository.default_branch = 'main'
  })
}

/** Mocks of one deploy's GitHub side: its deployment, statuses, and acceptance check run. */
export function nockDeploy(opts: {
  deploymentId: number
  statuses: number
  checkRun?: number | null
  config?: string | null
  pulls?: { sha: string; numbers: number[] }
}) {
  // A merge deploys only while it is main's head: the job asks GitHub first.
  if (opts.pulls) nockGetBranch(OWNER, REPO, 'main', opts.pulls.sha)
  nockGetContent(OWNER, REPO, CONFIG, null, opts.config ?? null)
  if (opts.pulls) nockCommitPulls(OWNER, REPO, opts.pulls.sha, opts.pulls.numbers)
  const deployment = nockCreateDeployment(OWNER, REPO, opts.deploymentId).body
  const statuses: Array<Promise<DeploymentBody>> = Array.from(
    { length: opts.statuses },
    () => nockDeploymentStatus(OWNER, REPO, opts.deploymentId).body,
  )
  const check =
    opts.checkRun === null
      ? undefined
      : {
          created: nockCreateCheckRun(OWNER, REPO, opts.checkRun ?? 880).body,
          completed: nockUpdateCheckRun(OWNER, REPO, opts.checkRun ?? 880).body,
        }
  return { deployment, statuses, check }
}

/**
 * What the pr-command job asks GitHub: the repo config, the commenter's role, and (when `pr`)
 * the PR, with its head in this repository unless `fork`, not merged unless `merged`.
 */
export function nockPrCommand(
  github: () => nock.Scope,
  opts: { head: string; fork?: boolean; merged?: boolean; config?: string | null },
  pr = true,
) {
  nockGetContent(OWNER, REPO, CONFIG, null, opts.config ?? null)
  nockGetCollaboratorPermission(OWNER, REPO, 'mona', 'write')
  if (!pr) return
  github()
    .get(`/repos/${OWNER}/${REPO}/pulls/${PR}`)
    .reply(200, {
      number: PR,
      merged: opts.merged ?? false,
      head: {
        ref: BRANCH,
        sha: opts.head,
        repo: { full_name: opts.fork ? `mallory/${REPO}` : `${OWNER}/${REPO}` },
      },
    })
}

/**
 * New comments DevSys writes on the PR, with these ids, in whichever order they come (a
 * rollback's answer and its revert's report are written by two jobs). The returned function
 * waits for all of them and gives each text by its sticky kind (`<!-- devsys:<kind> -->`).
 */
export function nockNewPrComments(...ids: number[]): () => Promise<Record<string, string>> {
  const created = ids.map((id) => nockCreateIssueComment(OWNER, REPO, PR, { id }))
  return async () => {
    const byKind: Record<string, string> = {}
    for (const { body } of await Promise.all(created.map((c) => c.body))) {
      byKind[/^<!-- devsys:([\w-]+) -->/.exec(body)?.[1] ?? 'none'] = body
    }
    return byKind
  }
}
