import { describe, expect, it } from 'vitest'
import { parseSshAllowList } from '../../src/deploy/parse-ssh-allow-list.js'
import { resolveSshRoot } from '../../src/deploy/resolve-ssh-root.js'

function allowList(text: string) {
  const parsed = parseSshAllowList(text)
  if (!parsed.ok) throw new Error(`bad entries: ${parsed.bad.join(', ')}`)
  return parsed.list
}

const web1 = { host: 'web1.example.com', port: 22, user: 'deploy' }

describe('resolveSshRoot', () => {
  const allow = allowList(
    'octo/*=deploy@web1.example.com:22/srv/sites other/blog=web1.example.com:2222/home/blog',
  )

  it("gives an allowed repository its own folder below the entry's folder", () => {
    expect(resolveSshRoot(allow, 'octo/blog', 'production', web1)).toEqual({
      ok: true,
      root: '/srv/sites/octo/blog/production',
      site: 'octo/blog/production',
    })
    // Another repository matching the same entry, with the same settings, lands elsewhere.
    expect(resolveSshRoot(allow, 'octo/shop', 'production', web1)).toMatchObject({
      root: '/srv/sites/octo/shop/production',
    })
    expect(resolveSshRoot(allow, 'Octo/Blog', 'staging', { ...web1, path: 'v2' })).toMatchObject({
      root: '/srv/sites/Octo/Blog/v2',
    })
    // An entry without a user allows any user on its host and port.
    expect(
      resolveSshRoot(allow, 'other/blog', 'production', { ...web1, port: 2222, user: 'www' }),
    ).toMatchObject({ root: '/home/blog/other/blog/production' })
  })

  it.each([
    ['a repository no entry names', 'evil/site', web1],
    ['another host', 'octo/blog', { ...web1, host: 'db1.example.com' }],
    ['another port', 'octo/blog', { ...web1, port: 2222 }],
    ['another user', 'octo/blog', { ...web1, user: 'root' }],
  ])('refuses %s, naming the entry the operator would add', (_, repo, ssh) => {
    const result = resolveSshRoot(allow, repo, 'production', ssh)
    expect(result).toEqual({ ok: false, message: expect.any(String) })
    const message = result.ok ? '' : result.message
    expect(message).toContain(`${repo} may not deploy to ${ssh.user}@${ssh.host}:${ssh.port}`)
    expect(message).toContain(
      `adds the entry ${repo}=${ssh.user}@${ssh.host}:${ssh.port}/<folder on the host>`,
    )
    expect(message).toContain('EXTERNAL_DEPLOY_SSH_ALLOW')
  })

  it('refuses everything when the server allows nothing, and brackets IPv6 in the entry', () => {
    const result = resolveSshRoot([], 'octo/blog', 'production', { ...web1, host: '::1' })
    expect(result.ok ? '' : result.message).toContain(
      'adds the entry octo/blog=deploy@[::1]:22/<folder on the host>',
    )
  })

  it("refuses a path that climbs out of the repository's folder on an allowed host", () => {
    const result = resolveSshRoot(allow, 'octo/blog', 'production', {
      ...web1,
      path: '../shop/production',
    })
    expect(result.ok ? '' : result.message).toMatch(/^environments\.production\.ssh\.path in/)
  })
})
