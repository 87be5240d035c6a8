import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseRepoConfig, type RepoConfig } from '../../src/config/load-repo-config.js'

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/config/${name}`, import.meta.url), 'utf8')

const DEFAULTS: RepoConfig = {
  label: 'devsys',
  manifests: ['specs/*.json', '.devsys/*.yml', '.devsys/*.yaml', '.devsys/*.json'],
  specs: ['specs/*/spec.md'],
  environments: {
    production: { target: 'local', keepReleases: 5, shared: [], php: {} },
  },
  runner: 'auto',
  generator: {
    kind: 'scaffold',
    maxIterations: 3,
    budgetSeconds: 3600,
    timeoutSeconds: 1800,
    forbiddenPaths: ['.github/'],
  },
  draftUntilTestsPass: true,
  permissions: {
    deploy: 'write',
    rollback: 'write',
    test: 'write',
    revise: 'write',
    help: 'read',
    intake: 'write',
  },
  notifications: [],
}

describe('parseRepoConfig', () => {
  it.each([
    ['no file', null],
    ['an empty file', ''],
    ['only comments', '# DevSys uses its defaults here\n'],
    ['an empty object', '{}\n'],
  ])('gives the complete defaults for %s', (_, text) => {
    expect(parseRepoConfig(text)).toEqual({ ok: true, config: DEFAULTS })
  })

  it('does not share default objects between calls', () => {
    const first = parseRepoConfig(null)
    if (!first.ok) throw new Error('defaults must be valid')
    first.config.manifests.push('mutated/*.json')
    expect(parseRepoConfig(null)).toEqual({ ok: true, config: DEFAULTS })
  })

  it('keeps what the file sets and fills in the rest', () => {
    const result = parseRepoConfig(fixture('devsys.full.yml'))
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    expect(result.config).toEqual({
      ...DEFAULTS,
      manifests: ['specs/*.json', 'apps/*/manifest.yml'],
      runner: 'docker',
      environments: {
        production: {
          target: 'ssh',
          url: 'https://blog.example.com',
          deployPermission: 'maintain',
          keepReleases: 5,
          shared: [],
          php: {},
          ssh: { host: 'web1.example.com', user: 'deploy', path: 'blog', port: 22 },
        },
        staging: {
          target: 'php',
          keepReleases: 5,
          shared: ['storage'],
          php: { container: 'blog-staging' },
        },
      },
      generator: {
        kind: 'command',
        command: ['my-agent', '--task', 'task.yml'],
        maxIterations: 3,
        budgetSeconds: 3600,
        timeoutSeconds: 1800,
        forbiddenPaths: ['.github/'],
      },
      draftUntilTestsPass: false,
      permissions: { ...DEFAULTS.permissions, help: 'triage' },
    })
  })

  it('reports every problem with its place in the file', () => {
    const result = parseRepoConfig(fixture('devsys.bad-runner.yml'), '.github/devsys.yml')
    if (result.ok) throw new Error('expected problems')
    expect(result.problems.map((p) => [p.pointer, p.line, p.column, p.message, p.hint])).toEqual([
      [
        '/runner',
        3,
        9,
        `'runner' is "kubernetes", which is not allowed`,
        'use one of: local, docker, remote-ssh, auto',
      ],
      [
        '/environments/staging/ssh',
        6,
        5,
        "'environments.staging' is missing the required property 'ssh'",
        "add 'ssh' (Connection for the `ssh` target. Required when target is `ssh`. The host key must be in DevSys's known_hosts, and the DevSys server's EXTERNAL_DEPLOY_SSH_ALLOW must allow this repository on this host, port and user.)",
      ],
      [
        '/environments/staging/url',
        7,
        10,
        `'environments.staging.url' is "ftp://staging.example.com", which is not allowed`,
        'write an http:// or https:// URL, e.g. https://blog.example.com',
      ],
      [
        '/permissions/deploy',
        9,
        11,
        `'permissions.deploy' is "owner", which is not allowed`,
        'use one of: read, triage, write, maintain, admin',
      ],
      [
        '/permissions/delpoy',
        10,
        3,
        "unknown property 'delpoy' in 'permissions'",
        "did you mean 'deploy'? allowed properties here: deploy, rollback, test, revise, help, intake",
      ],
    ])
  })

  it('requires the command of a command generator, and reports YAML syntax errors', () => {
    const missing = parseRepoConfig('generator:\n  kind: command\n')
    expect(
      missing.ok
        ? []
        : missing.problems.map((p) => `${p.pointer} ${p.line}:${p.column} ${p.message}`),
    ).toEqual(["/generator/command 2:3 'generator' is missing the required property 'command'"])
    const syntax = parseRepoConfig('label: [devsys\n')
    expect(
      syntax.ok ? [] : syntax.problems.map((p) => `${p.line}:${p.column} ${p.message}`),
    ).toEqual([
      '2:1 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ])
  })

  it('refuses a config nested 850 levels deep with the limit and its place', () => {
    const nested = (levels: number) => `label: devsys\nmanifests:\n  ${'- '.repeat(levels - 1)}x\n`
    expect(JSON.stringify(parseRepoConfig(nested(100)))).not.toContain('levels deep')
    // The 101st list or object is the 100th "- ", at column 3 + 99 * 2 of line 3.
    expect(parseRepoConfig(nested(850))).toEqual({
      ok: false,
      problems: [
        {
          pointer: '',
          line: 3,
          column: 201,
          endLine: 3,
          message: 'config file nests lists and objects more than 100 levels deep',
          hint: 'flatten the nested lists and objects; a config file needs only a few levels',
        },
      ],
    })
  })

  it("takes php and ssh paths only relative to the repository's own folder", () => {
    const env = (php: string, ssh: string) =>
      `environments:\n  a: { target: php, php: { path: ${php} } }\n  b: { target: ssh, ssh: { host: h.example, user: deploy, path: ${ssh} } }\n`
    const refused = parseRepoConfig(env('/var/www/other', '../other-repo/production'))
    expect(refused.ok ? [] : refused.problems.map((p) => [p.pointer, p.hint])).toEqual([
      [
        '/environments/a/php/path',
        "write a relative folder of letters, digits, ., _, - and /, e.g. staging; it cannot start with / or contain . or .. parts (the repository's folder on the container is chosen by DevSys)",
      ],
      [
        '/environments/b/ssh/path',
        'write a relative folder of letters, digits, ., _, - and /, e.g. staging; it cannot start with / or contain . or .. parts (the folder on the host is chosen by the DevSys server)',
      ],
    ])
    for (const bad of ['a/../../x', './x', 'x/.', '%2e%2e/x']) {
      expect(parseRepoConfig(env('ok', bad)).ok, bad).toBe(false)
    }
    const fine = parseRepoConfig(env('site/v2', 'blog'))
    expect(fine.ok && [fine.config.environments.a?.php, fine.config.environments.b?.ssh]).toEqual([
      { path: 'site/v2' },
      { host: 'h.example', user: 'deploy', port: 22, path: 'blog' },
    ])
  })

  it('rejects manifest globs that escape the repository', () => {
    const result = parseRepoConfig('manifests: ["../other/*.json", "/abs/*.json"]\n')
    expect(result.ok ? [] : result.problems.map((p) => [p.pointer, p.column])).toEqual([
      ['/manifests/0', 13],
      ['/manifests/1', 32],
    ])
  })
})
