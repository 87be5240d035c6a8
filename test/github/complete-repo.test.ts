import { describe, expect, it } from 'vitest'
import type { GitHubClient } from '../../src/app-deps.js'
import { completeRepo } from '../../src/github/complete-repo.js'
import { githubExample } from '../helpers/openapi.js'

type RepoData = Awaited<ReturnType<GitHubClient['rest']['repos']['get']>>['data']

/** A client whose repos.get answers with GitHub's own example repository, recording what it was asked. */
function fakeRepos(data: RepoData) {
  const asked: unknown[] = []
  const github = {
    rest: {
      repos: {
        get: async (params: unknown) => {
          asked.push(params)
          return { data }
        },
      },
    },
  } as unknown as Parameters<typeof completeRepo>[0]
  return { github, asked }
}

describe('completeRepo', () => {
  it('fills in clone URL, web URL and default branch from the repos API, keeping the names asked for', async () => {
    const data = githubExample('full-repository') as RepoData
    const { github, asked } = fakeRepos(data)
    const repo = await completeRepo(github, {
      owner: 'octocat',
      name: 'hello-world',
      fullName: 'octocat/hello-world',
    })
    expect(asked).toEqual([{ owner: 'octocat', repo: 'hello-world' }])
    expect(repo).toEqual({
      owner: 'octocat',
      name: 'hello-world',
      fullName: 'octocat/hello-world',
      cloneUrl: data.clone_url,
      defaultBranch: data.default_branch,
      htmlUrl: data.html_url,
    })
  })

  it('asks GitHub nothing when the payload carries the whole repository', async () => {
    const { github, asked } = fakeRepos(githubExample('full-repository') as RepoData)
    const whole = {
      owner: 'octo-org',
      name: 'blog',
      fullName: 'octo-org/blog',
      cloneUrl: 'https://github.com/octo-org/blog.git',
      defaultBranch: 'trunk',
      htmlUrl: 'https://github.com/octo-org/blog',
    }
    expect(await completeRepo(github, whole)).toBe(whole)
    expect(asked).toEqual([])
  })
})
