import { describe, expect, it } from 'vitest'
import { resolveDeployRoot } from '../../src/deploy/resolve-deploy-root.js'

describe('resolveDeployRoot', () => {
  it("defaults to the environment's folder inside the repository's own folder", () => {
    expect(resolveDeployRoot('/var/www/devsys', 'octo/blog', 'production')).toEqual({
      ok: true,
      root: '/var/www/devsys/octo/blog/production',
      site: 'octo/blog/production',
    })
    // Each repository and environment gets its own folder on the same base.
    expect(resolveDeployRoot('/srv/sites/', 'octo/shop', 'staging')).toMatchObject({
      root: '/srv/sites/octo/shop/staging',
    })
  })

  it('takes a relative path below the repository folder, trailing slashes dropped', () => {
    expect(resolveDeployRoot('/srv', 'octo/blog', 'production', 'v2/site/')).toEqual({
      ok: true,
      root: '/srv/octo/blog/v2/site',
      site: 'octo/blog/v2/site',
    })
  })

  it.each([
    ['../shop/production'],
    ['a/../../shop'],
    ['..'],
    ['.'],
    ['./x'],
    ['/var/www/devsys/octo/shop'],
    ['//etc'],
    ['a//b'],
    ['%2e%2e/shop'],
    ['..%2fshop'],
    ['a\\..\\..\\shop'],
    ['a\u0000b'],
    [''],
    ['x'.repeat(201)],
  ])('refuses the path %j, naming the setting and the file', (path) => {
    const result = resolveDeployRoot(
      '/srv',
      'octo/blog',
      'production',
      path,
      'environments.production.ssh.path',
    )
    expect(result).toEqual({
      ok: false,
      message: expect.stringMatching(
        /^environments\.production\.ssh\.path in \.github\/devsys\.yml is .*, which is not a folder inside the repository's own deploy folder: write a relative folder/,
      ),
    })
  })

  it.each([['../x'], ['octo'], ['octo/blog/x'], ['../blog'], ['octo/..'], ['octo/b c'], ['/blog']])(
    'refuses the repository name %j',
    (repo) => {
      expect(resolveDeployRoot('/srv', repo, 'production')).toMatchObject({ ok: false })
    },
  )

  it('refuses environment names and bases that could climb', () => {
    expect(resolveDeployRoot('/srv', 'octo/blog', '..')).toMatchObject({ ok: false })
    expect(resolveDeployRoot('/srv', 'octo/blog', 'Prod/x')).toMatchObject({ ok: false })
    expect(resolveDeployRoot('srv', 'octo/blog', 'production')).toMatchObject({ ok: false })
    expect(resolveDeployRoot('/srv/../etc', 'octo/blog', 'production')).toMatchObject({
      ok: false,
    })
  })
})
