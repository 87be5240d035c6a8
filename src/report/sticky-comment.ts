import type { GitHubClient } from '../app-deps.js'
import type { CommentStore } from '../store/store.js'

type IssuesApi = Pick<GitHubClient['rest']['issues'], 'createComment' | 'updateComment'>

/** Hidden marker that identifies DevSys's comment of one kind on an issue or PR. */
export function stickyMarker(kind: string): string {
  return `<!-- devsys:${kind} -->`
}

/**
 * Writes DevSys's one comment of `kind` on an issue or PR: edits it in place when it exists,
 * creates it otherwise (also when someone deleted it), and remembers its id in the store.
 */
export async function upsertStickyComment(
  github: { rest: { issues: IssuesApi } },
  store: Pick<CommentStore, 'getCommentId' | 'setCommentId'>,
  target: { owner: string; repo: string; issue: number; kind: string; body: string },
): Promise<{ id: number; url: string; created: boolean }> {
  const { owner, repo, issue, kind } = target
  const body = `${stickyMarker(kind)}\n${target.body}`
  const fullName = `${owner}/${repo}`
  const existing = await store.getCommentId(fullName, issue, kind)
  if (existing !== undefined) {
    try {
      const { data } = await github.rest.issues.updateComment({
        owner,
        repo,
        comment_id: existing,
        body,
      })
      return { id: data.id, url: data.html_url, created: false }
    } catch (error) {
      if (!isNotFound(error)) throw error
    }
  }
  const { data } = await github.rest.issues.createComment({
    owner,
    repo,
    issue_number: issue,
    body,
  })
  await store.setCommentId(fullName, issue, kind, data.id)
  return { id: data.id, url: data.html_url, created: true }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'status' in error && error.status === 404
}
