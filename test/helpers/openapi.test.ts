import { describe, expect, it } from 'vitest'
import { findGitHubOperation, validateGitHubRequest } from './openapi.js'

describe('findGitHubOperation', () => {
  it('prefers literal segments: issues/comments/5 is a comment, not issue "comments"', () => {
    expect(findGitHubOperation('GET', '/repos/o/r/issues/comments/5')).toEqual({
      method: 'GET',
      template: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
      operationId: 'issues/get-comment',
    })
    expect(findGitHubOperation('GET', '/repos/o/r/issues/comments')?.operationId).toBe(
      'issues/list-comments-for-repo',
    )
    expect(findGitHubOperation('GET', '/repos/o/r/issues/7')?.operationId).toBe('issues/get')
  })

  it('accepts full URLs with a query, and escaped or unescaped slashes in a file path', () => {
    const url = 'https://api.github.com/repos/o/r/contents/.github%2Fdevsys.yml?ref=main'
    expect(findGitHubOperation('get', url)?.operationId).toBe('repos/get-content')
    expect(findGitHubOperation('GET', '/repos/o/r/contents/a/b/c.yml')?.operationId).toBe(
      'repos/get-content',
    )
  })

  it('does not let an ordinary parameter swallow extra segments', () => {
    expect(findGitHubOperation('GET', '/repos/o/r/nonsense')).toBeUndefined()
  })
})

describe('validateGitHubRequest', () => {
  it('accepts a valid comment and the installation token exchange', () => {
    expect(validateGitHubRequest('POST', '/repos/o/r/issues/1/comments', { body: 'hi' })).toEqual(
      [],
    )
    expect(validateGitHubRequest('POST', '/app/installations/1234/access_tokens', {})).toEqual([])
    expect(
      validateGitHubRequest('POST', '/app/installations/1234/access_tokens', undefined),
    ).toEqual([])
  })

  it('names method, path, operation, JSON pointer and the complaint', () => {
    const problems = validateGitHubRequest('POST', '/repos/o/r/check-runs', {
      name: 'DevSys / tests',
      head_sha: 'a'.repeat(40),
      status: 'bogus',
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('POST /repos/o/r/check-runs')
    expect(problems[0]).toContain('checks/create')
    expect(problems[0]).toContain('body /status: must be equal to one of the allowed values')
  })

  it('reports a missing required property', () => {
    const [problem] = validateGitHubRequest('POST', '/repos/o/r/issues/1/comments', { bodyy: 'x' })
    expect(problem).toMatch(/issues\/create-comment\): body \/: must have required property 'body'/)
  })

  it('reports unknown paths, wrong methods, unexpected and missing bodies, non-JSON bodies', () => {
    expect(validateGitHubRequest('GET', '/repos/o/r/nonsense', undefined)[0]).toMatch(
      /no such path/,
    )
    expect(validateGitHubRequest('DELETE', '/repos/o/r/issues/1/comments', undefined)[0]).toMatch(
      /has no DELETE operation \(only GET, POST\)/,
    )
    expect(validateGitHubRequest('GET', '/repos/o/r', { a: 1 })[0]).toMatch(/accepts none/)
    expect(validateGitHubRequest('POST', '/repos/o/r/issues/1/reactions', undefined)[0]).toMatch(
      /request body is required/,
    )
    expect(validateGitHubRequest('POST', '/repos/o/r/issues/1/comments', 'body=x')[0]).toMatch(
      /not JSON/,
    )
  })

  it('compiles schemas that use OpenAPI nullable without a type', () => {
    const body = { properties: [{ property_name: 'team', value: null }], repository_names: ['r'] }
    expect(validateGitHubRequest('PATCH', '/orgs/o/properties/values', body)).toEqual([])
  })
})
