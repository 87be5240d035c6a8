import { describe, expect, it } from 'vitest'
import type { GitHubClient } from '../../src/app-deps.js'
import { repoRefFrom, withRepoRef } from '../../src/github/repo-ref.js'
import type { IssueIntakePayload } from '../../src/triggers/issue-intake.js'
import { githubExample } from '../helpers/openapi.js'
import { examplePayload } from '../helpers/payloads.js'

describe('repoRefFrom', () => {
  it('reads the repository of an issue event (official example payload)', () => {
    const { repository } = examplePayload('issues', 'labeled')
    expect(repoRefFrom(repository)).toEqual({
      owner: repository.owner.login,
      name: repository.name,
      fullName: repository.full_name,
      cloneUrl: repository.clone_url,
      defaultBranch: repository.default_branch,
      htmlUrl: repository.html_url,
    })
  })

  it('fills in what an old push payload lacks: the owner from full_name, master_branch', () => {
    const { repository } = examplePayload('push', undefined, (p) => {
      p.repository = {
        ...p.repository,
        full_name: 'octo-org/blog',
        owner: undefined as never,
        default_branch: undefined as never,
        master_branch: 'trunk',
      }
    })
    expect(repoRefFrom(repository)).toMatchObject({
      owner: 'octo-org',
      fullName: 'octo-org/blog',
      defaultBranch: 'trunk',
    })
  })

  it("reads the repos API's repository (GitHub's example full-repository) like a webhook's", () => {
    const repository = githubExample('full-repository') as Awaited<
      ReturnType<GitHubClient['rest']['repos']['get']>
    >['data']
    expect(repoRefFrom(repository)).toEqual({
      owner: repository.owner.login,
      name: repository.name,
      fullName: repository.full_name,
      cloneUrl: repository.clone_url,
      defaultBranch: repository.default_branch,
      htmlUrl: repository.html_url,
    })
  })
})

describe('withRepoRef', () => {
  const repo = {
    owner: 'Codertocat',
    name: 'Hello-World',
    fullName: 'Codertocat/Hello-World',
    cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
    defaultBranch: 'main',
    htmlUrl: 'https://github.com/Codertocat/Hello-World',
  }
  const rest = {
    installationId: 1,
    issue: 1,
    issueUrl: 'https://github.com/Codertocat/Hello-World/issues/1',
    body: null,
    labels: ['devsys'],
    addedLabel: null,
    requester: 'Codertocat',
    requesterId: 21031067,
  }

  it('returns a payload that carries its RepoRef as it is', () => {
    const payload: IssueIntakePayload = { ...rest, repo }
    expect(withRepoRef<IssueIntakePayload>(payload)).toEqual(payload)
  })

  it('reads a payload queued by the previous version, with the repository in flat fields', () => {
    const flat = {
      ...rest,
      owner: repo.owner,
      repo: repo.name,
      fullName: repo.fullName,
      cloneUrl: repo.cloneUrl,
      defaultBranch: repo.defaultBranch,
      htmlUrl: repo.htmlUrl,
    }
    expect(withRepoRef<IssueIntakePayload>(flat)).toEqual({ ...rest, repo })
  })
})
