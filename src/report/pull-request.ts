import type { GitHubClient } from '../app-deps.js'

type PullsApi = Pick<GitHubClient['rest']['pulls'], 'create' | 'update' | 'list' | 'get'>

export interface PullRequestRef {
  number: number
  url: string
  draft: boolean
  created: boolean
}

/**
 * Opens the task's pull request, or updates the one it already has: a task never gets a second
 * PR. The known PR number comes from the store; without one, an open PR from the branch is
 * looked up first (a crash may have happened between creating it and storing its number).
 */
export async function upsertPullRequest(
  github: { rest: { pulls: PullsApi } },
  pr: {
    owner: string
    repo: string
    head: string
    base: string
    title: string
    body: string
    draft: boolean
    knownNumber: number | null
  },
): Promise<PullRequestRef> {
  const { owner, repo } = pr
  const existing = pr.knownNumber ?? (await findOpenPullRequest(github, pr))
  if (existing !== null) {
    const { data } = await github.rest.pulls.update({
      owner,
      repo,
      pull_number: existing,
      title: pr.title,
      body: pr.body,
    })
    return { number: data.number, url: data.html_url, draft: data.draft ?? false, created: false }
  }
  const create = (draft: boolean) =>
    github.rest.pulls.create({
      owner,
      repo,
      head: pr.head,
      base: pr.base,
      title: pr.title,
      body: pr.body,
      draft,
    })
  try {
    const { data } = await create(pr.draft)
    return { number: data.number, url: data.html_url, draft: data.draft ?? false, created: true }
  } catch (error) {
    // Draft PRs are not available on every plan: open a ready PR rather than none.
    if (!pr.draft || !isDraftUnsupported(error)) throw error
    const { data } = await create(false)
    return { number: data.number, url: data.html_url, draft: false, created: true }
  }
}

async function findOpenPullRequest(
  github: { rest: { pulls: PullsApi } },
  pr: { owner: string; repo: string; head: string },
): Promise<number | null> {
  const { data } = await github.rest.pulls.list({
    owner: pr.owner,
    repo: pr.repo,
    head: `${pr.owner}:${pr.head}`,
    state: 'open',
    per_page: 1,
  })
  return data[0]?.number ?? null
}

function isDraftUnsupported(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('status' in error) || error.status !== 422)
    return false
  return /draft/i.test(String((error as { message?: unknown }).message ?? ''))
}

/**
 * Marks a draft pull request ready for review. REST cannot do this; GitHub's GraphQL API has
 * the `markPullRequestReadyForReview` mutation, which takes the PR's node id.
 */
export async function markReadyForReview(
  github: { rest: { pulls: Pick<PullsApi, 'get'> }; graphql: GitHubClient['graphql'] },
  pr: { owner: string; repo: string; number: number },
): Promise<boolean> {
  const { data } = await github.rest.pulls.get({
    owner: pr.owner,
    repo: pr.repo,
    pull_number: pr.number,
  })
  if (!data.draft) return false
  await github.graphql(
    'mutation($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { isDraft } } }',
    { id: data.node_id },
  )
  return true
}
