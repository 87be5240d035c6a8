import type { GitHubClient } from '../app-deps.js'

type ReposApi = Pick<GitHubClient['rest']['repos'], 'getContent'>

export type RepoFile =
  | { kind: 'found'; text: string; size: number }
  | { kind: 'missing' }
  | { kind: 'too-large'; size: number }
  | { kind: 'not-a-file'; type: string }

/**
 * Reads one text file from a repository at `ref` (the default branch when absent) through the
 * contents API, refusing files over `maxBytes` before decoding them.
 */
export async function readRepoFile(
  github: { rest: { repos: ReposApi } },
  target: { owner: string; repo: string; path: string; ref?: string; maxBytes: number },
): Promise<RepoFile> {
  let data: Awaited<ReturnType<ReposApi['getContent']>>['data']
  try {
    const response = await github.rest.repos.getContent({
      owner: target.owner,
      repo: target.repo,
      path: target.path,
      ...(target.ref === undefined ? {} : { ref: target.ref }),
    })
    data = response.data
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'status' in error && error.status === 404) {
      return { kind: 'missing' }
    }
    throw error
  }
  if (Array.isArray(data)) return { kind: 'not-a-file', type: 'dir' }
  if (data.type !== 'file') return { kind: 'not-a-file', type: data.type }
  if (data.size > target.maxBytes) return { kind: 'too-large', size: data.size }
  // Files over 1 MB come back without content; the size check above already refused them.
  const text = Buffer.from(data.content ?? '', 'base64').toString('utf8')
  return { kind: 'found', text, size: data.size }
}
