import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseManifest } from '../../src/manifest/parse-manifest.js'
import type { ManifestOrigin, ManifestProblem, ParseResult } from '../../src/manifest/types.js'

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/manifests/${name}`, import.meta.url), 'utf8')
const blogJson = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')

function parseFixture(name: string): ParseResult {
  return parseManifest(fixture(name), { label: name, path: `specs/${name}` })
}

function problemsOf(result: ParseResult): ManifestProblem[] {
  if (result.ok) throw new Error('expected the manifest to be rejected')
  return result.problems
}

/** pointer line:column-endLine message, one string per problem, for compact exact assertions. */
function summarize(result: ParseResult): string[] {
  return problemsOf(result).map(
    (p) => `${p.pointer} ${p.line}:${p.column}-${p.endLine} ${p.message}`,
  )
}

const MINIMAL = {
  id: 'blog',
  title: 'Blog',
  stack: 'php',
  stories: [{ as: 'reader', want: 'posts' }],
  acceptance: [{ path: '/' }],
}

function withField(field: string, value: unknown): string {
  return JSON.stringify({ ...MINIMAL, [field]: value }, null, 2)
}

describe('parseManifest: valid manifests', () => {
  it('accepts specs/create-blog.json and fills in defaults', () => {
    const result = parseManifest(blogJson, {
      label: 'specs/create-blog.json',
      path: 'specs/create-blog.json',
    })
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    expect(result.text).toBe(blogJson)
    expect(result.manifest.id).toBe('create-blog')
    expect(result.manifest.stack).toBe('php')
    // The second check leaves method and timeoutMs out; the schema's defaults fill them in.
    expect(result.manifest.acceptance[1]).toEqual({
      id: 'post-page',
      description: "A post page shows the post's title and body",
      method: 'GET',
      path: '/post.php?id=1',
      status: 200,
      bodyContains: ['Hello, world', 'This is the first post.'],
      timeoutMs: 5000,
    })
    expect(result.manifest.tests).toEqual({
      command: ['phpunit', '--log-junit', 'build/junit.xml'],
      junit: 'build/junit.xml',
      timeoutSeconds: 300,
    })
    expect(result.manifest.data).toMatchObject({
      posts: [{ id: 1, title: 'Hello, world' }, { id: 2 }],
    })
  })

  it('reads the YAML twin of the sample as the same manifest', () => {
    const yaml = parseFixture('blog.valid.yaml')
    const json = parseManifest(blogJson, {
      label: 'specs/create-blog.json',
      path: 'specs/create-blog.json',
    })
    if (!yaml.ok || !json.ok) throw new Error('both samples must be valid')
    expect(yaml.manifest).toEqual(json.manifest)
  })

  it('fills every default of a minimal manifest, tests from the stack', () => {
    const result = parseFixture('minimal.valid.yaml')
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    expect(result.manifest).toEqual({
      id: 'hello',
      title: 'Hello page',
      description: '',
      stack: 'static',
      stories: [{ as: 'visitor', want: 'to be greeted' }],
      acceptance: [
        { path: '/', method: 'GET', status: 200, bodyContains: ['Hello'], timeoutMs: 5000 },
      ],
      tests: {
        command: [
          'node',
          '--test',
          '--test-reporter=junit',
          '--test-reporter-destination=build/junit.xml',
        ],
        junit: 'build/junit.xml',
        timeoutSeconds: 300,
      },
      deploy: { environment: 'production', target: 'local' },
    })
  })

  it('gives php manifests without tests the phpunit command', () => {
    const result = parseManifest(JSON.stringify(MINIMAL), { label: 'api', format: 'json' })
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    expect(result.manifest.tests.command).toEqual(['phpunit', '--log-junit', 'build/junit.xml'])
  })

  it('drops the editor-only $schema property', () => {
    const text = JSON.stringify({ $schema: '../specs/project.schema.json', ...MINIMAL })
    const result = parseManifest(text, { label: 'api' })
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    expect(Object.keys(result.manifest)).not.toContain('$schema')
  })

  it('guesses JSON from a leading brace and YAML otherwise when no format or path is given', () => {
    expect(parseManifest(` \n${JSON.stringify(MINIMAL)}`, { label: 'api' }).ok).toBe(true)
    expect(summarize(parseManifest('{"id": "x",}', { label: 'api' }))).toEqual([
      " 1:11-1 invalid JSON: trailing comma before '}'",
    ])
  })
})

describe('parseManifest: syntax errors', () => {
  it('points at the exact place of a missing comma in JSON', () => {
    const problems = problemsOf(parseFixture('missing-comma.invalid.json'))
    expect(problems).toEqual([
      {
        pointer: '',
        line: 4,
        column: 17,
        endLine: 4,
        message: "invalid JSON: expected ',' or '}' after the property value",
        hint: "add ',' here if more entries follow, or close the object with }",
      },
    ])
  })

  it('points at an unquoted JSON value, which JSON.parse reports without a position', () => {
    expect(summarize(parseFixture('bare-word.invalid.json'))).toEqual([
      " 4:12-4 invalid JSON: expected a value but found 'p'",
    ])
  })

  it('reports malformed YAML at the line and column the parser stopped', () => {
    const problems = problemsOf(parseFixture('bad-indent.invalid.yaml'))
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({
      pointer: '',
      line: 7,
      column: 1,
      message: 'invalid YAML: Sequence item without - indicator',
    })
    expect(problems[0]?.hint).toContain('indentation')
  })

  it('reports an unclosed YAML flow list', () => {
    expect(
      summarize(parseManifest('id: x\nstack: [php\n', { label: 'x', format: 'yaml' })),
    ).toEqual([
      ' 3:1-3 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ])
  })

  it('rejects empty text, comment-only YAML, lists and several YAML documents', () => {
    const origin: ManifestOrigin = { label: 'x', format: 'yaml' }
    expect(summarize(parseManifest('', origin))).toEqual([' 1:1-1 manifest is empty'])
    expect(summarize(parseManifest('  \n\n', { label: 'x' }))).toEqual([' 1:1-1 manifest is empty'])
    expect(summarize(parseManifest('# nothing yet\n', origin))).toEqual([
      ' 1:1-1 manifest is empty',
    ])
    expect(summarize(parseFixture('top-level-list.invalid.yaml'))).toEqual([
      ' 1:1-1 manifest must be an object (key: value pairs), found a list',
    ])
    expect(summarize(parseManifest('"just text"', { label: 'x', format: 'json' }))).toEqual([
      ' 1:1-1 manifest must be an object (key: value pairs), found a string',
    ])
    expect(summarize(parseFixture('two-documents.invalid.yaml'))).toEqual([
      ' 3:1-3 manifest holds 2 YAML documents separated by ---; DevSys reads exactly one',
    ])
  })

  it('reports duplicate keys in JSON (which JSON.parse silently accepts)', () => {
    expect(summarize(parseFixture('duplicate-key.invalid.json'))).toEqual([
      "/acceptance/0/path 6:33-6 duplicate key 'path'",
      "/id 7:3-7 duplicate key 'id'",
    ])
  })

  it('reports duplicate keys in YAML together with schema problems', () => {
    const text = 'id: blog\ntitle: Blog\nstack: php\nstack: java\nstories: []\n'
    expect(summarize(parseManifest(text, { label: 'x', format: 'yaml' }))).toEqual([
      "/acceptance 1:1-5 the top level is missing the required property 'acceptance'",
      "/stack 4:1-4 duplicate key 'stack'",
      `/stack 4:8-4 'stack' is "java", which is not allowed`,
      "/stories 5:10-5 'stories' needs at least 1 item",
    ])
  })
})

describe('parseManifest: schema problems', () => {
  it('lists the allowed stacks and points at the bad value', () => {
    expect(problemsOf(parseFixture('unknown-stack.invalid.json'))).toEqual([
      {
        pointer: '/stack',
        line: 4,
        column: 12,
        endLine: 4,
        message: `'stack' is "java", which is not allowed`,
        hint: 'use one of: php, static',
      },
    ])
  })

  it.each(['../etc', 'a/b', 'x;rm -rf /', '$(id)', '`id`', 'UPPER', 'a.b', '-leading-hyphen', ''])(
    'rejects the id %j with a hint on allowed characters',
    (id) => {
      const problems = problemsOf(
        parseManifest(withField('id', id), { label: 'x', format: 'json' }),
      )
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatchObject({ pointer: '/id', line: 2, column: 9, endLine: 2 })
      expect(problems[0]?.message).toBe(`'id' is ${JSON.stringify(id)}, which is not allowed`)
      expect(problems[0]?.hint).toMatch(/^use 1-63 lowercase letters \(a-z\), digits and hyphens/)
    },
  )

  it('rejects a 64-character id, cutting the echoed value short', () => {
    const problems = problemsOf(parseManifest(withField('id', 'a'.repeat(64)), { label: 'x' }))
    expect(problems.map((p) => [p.pointer, p.message])).toEqual([
      ['/id', `'id' is "${'a'.repeat(57)}...", which is not allowed`],
    ])
  })

  it('accepts ids at the edges of the pattern', () => {
    for (const id of ['a', '0', 'my-blog-2', `a${'b'.repeat(62)}`]) {
      expect(parseManifest(withField('id', id), { label: 'x' }).ok).toBe(true)
    }
  })

  it('reports every problem of a manifest at once, in text order', () => {
    const problems = problemsOf(parseFixture('several-errors.invalid.yaml'))
    expect(problems.map((p) => `${p.pointer} ${p.line}:${p.column} ${p.message}`)).toEqual([
      "/acceptance 1:1 the top level is missing the required property 'acceptance'",
      `/id 1:5 'id' is "My Blog", which is not allowed`,
      `/stack 3:8 'stack' is "ruby", which is not allowed`,
      "/stories 4:10 'stories' needs at least 1 item",
      "/acceptence 5:1 unknown property 'acceptence' in the top level",
      `/tests/command 8:12 'tests.command' must be a list, found "phpunit --log-junit build/junit.xml"`,
      `/tests/junit 9:10 'tests.junit' is "../junit.xml", which is not allowed`,
    ])
    const unknown = problems.find((p) => p.pointer === '/acceptence')
    expect(unknown?.hint).toMatch(
      /^did you mean 'acceptance'\? allowed properties here: \$schema, id, /,
    )
    const command = problems.find((p) => p.pointer === '/tests/command')
    expect(command?.hint).toContain('not as one shell string')
  })

  it('positions a missing property at the object it belongs in', () => {
    const text =
      'id: blog\ntitle: Blog\nstack: php\nstories:\n  - as: reader\nacceptance:\n  - status: 200\n'
    expect(problemsOf(parseManifest(text, { label: 'x', format: 'yaml' }))).toEqual([
      {
        pointer: '/stories/0/want',
        line: 5,
        column: 5,
        endLine: 5,
        message: "'stories[0]' is missing the required property 'want'",
        hint: "add 'want' (What they want, e.g. `to see a list of posts`.)",
      },
      {
        pointer: '/acceptance/0/path',
        line: 7,
        column: 5,
        endLine: 7,
        message: "'acceptance[0]' is missing the required property 'path'",
        hint: "add 'path' (Path and query of the request, relative to the environment's base URL, e.g. /post.php?id=1.)",
      },
    ])
  })

  it('refuses acceptance paths that could leave the site, and absolute junit paths', () => {
    expect(summarize(parseFixture('unsafe-paths.invalid.yaml'))).toEqual([
      `/acceptance/0/path 8:11-8 'acceptance[0].path' is "//evil.example/x", which is not allowed`,
      `/acceptance/1/path 9:11-9 'acceptance[1].path' is "/a/../etc/passwd", which is not allowed`,
      `/acceptance/2/path 10:11-10 'acceptance[2].path' is "/%2e%2e/secret", which is not allowed`,
      `/acceptance/3/path 11:11-11 'acceptance[3].path' is "/with space", which is not allowed`,
      `/acceptance/4/path 12:11-12 'acceptance[4].path' is "relative", which is not allowed`,
      `/tests/junit 15:10-15 'tests.junit' is "/tmp/junit.xml", which is not allowed`,
    ])
    const backslash = withField('acceptance', [{ path: '/\\evil.example' }])
    expect(problemsOf(parseManifest(backslash, { label: 'x' }))[0]?.pointer).toBe(
      '/acceptance/0/path',
    )
  })

  it('checks acceptance status range, timeout and the regular expression', () => {
    const text = withField('acceptance', [
      { path: '/', status: 99, timeoutMs: 60001, bodyMatches: '(unclosed', method: 'FETCH' },
    ])
    expect(
      problemsOf(parseManifest(text, { label: 'x' })).map((p) => [p.pointer, p.message, p.hint]),
    ).toEqual([
      [
        '/acceptance/0/status',
        "'acceptance[0].status' is the number 99, out of range",
        'use a number from 100 to 599',
      ],
      [
        '/acceptance/0/timeoutMs',
        "'acceptance[0].timeoutMs' is the number 60001, out of range",
        'use a number from 1 to 60000',
      ],
      [
        '/acceptance/0/bodyMatches',
        `'acceptance[0].bodyMatches' is "(unclosed", which is not a regular expression DevSys can run (missing closing ): \`(unclosed\`)`,
        'write a regular expression in RE2 syntax (no backreferences like \\1, no lookaround like (?=...)) without surrounding slashes, e.g. <h1>.*Blog</h1>',
      ],
      [
        '/acceptance/0/method',
        `'acceptance[0].method' is "FETCH", which is not allowed`,
        'use one of: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
      ],
    ])
  })

  it('refuses bodyMatches patterns RE2 cannot run in linear time (backreferences, lookaround)', () => {
    const text = withField('acceptance', [
      { path: '/', bodyMatches: '(a)\\1' },
      { path: '/', bodyMatches: 'x(?=y)' },
      { path: '/', bodyMatches: '(a+)+$' },
    ])
    expect(
      problemsOf(parseManifest(text, { label: 'x' })).map((p) => [p.pointer, p.message]),
    ).toEqual([
      [
        '/acceptance/0/bodyMatches',
        `'acceptance[0].bodyMatches' is "(a)\\\\1", which is not a regular expression DevSys can run (invalid escape sequence: \`\\1\`)`,
      ],
      [
        '/acceptance/1/bodyMatches',
        `'acceptance[1].bodyMatches' is "x(?=y)", which is not a regular expression DevSys can run (invalid or unsupported Perl syntax: \`(?=\`)`,
      ],
    ])
  })

  it('points at a bad header name rather than at the headers object', () => {
    const text =
      'id: blog\ntitle: Blog\nstack: php\nstories: [{as: a, want: b}]\nacceptance:\n  - path: /\n    headers:\n      Bad Name: x\n'
    expect(summarize(parseManifest(text, { label: 'x', format: 'yaml' }))).toEqual([
      "/acceptance/0/headers/Bad Name 8:7-8 property name 'Bad Name' is not allowed",
    ])
  })
})

describe('parseManifest: size and embedding', () => {
  it('refuses text over the limit, counted in UTF-8 bytes, without parsing it', () => {
    const big = `{"id": "${'x'.repeat(1024 * 1024)}"`
    expect(problemsOf(parseManifest(big, { label: 'x' }))).toEqual([
      {
        pointer: '',
        line: 1,
        column: 1,
        endLine: 1,
        message: 'manifest is 1048585 bytes, over the 1 MiB limit',
        hint: 'shorten the manifest to at most 1048576 bytes, e.g. by moving large data out of it',
      },
    ])
    // 600 two-byte characters are 1200 bytes: over a 1000-byte limit although only 600 long.
    const accented = `title: ${'é'.repeat(600)}`
    expect(summarize(parseManifest(accented, { label: 'x' }, { maxBytes: 1000 }))).toEqual([
      ' 1:1-1 manifest is 1207 bytes, over the 1000 bytes limit',
    ])
  })

  it('refuses brackets nested over 100 deep before parsing (deep nesting can crash V8)', () => {
    // depth counts every open bracket: the top-level {, data's {, then depth - 2 lists.
    const nested = (depth: number): string =>
      `${JSON.stringify(MINIMAL).slice(0, -1)},\n"data": {"x": ${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}}}`
    expect(parseManifest(nested(100), { label: 'x' }).ok).toBe(true)
    for (const format of ['json', 'yaml'] as const) {
      expect(summarize(parseManifest(nested(101), { label: 'x', format }))).toEqual([
        ' 2:113-2 manifest nests brackets more than 100 levels deep',
      ])
    }
  })

  it('refuses YAML nested over 100 deep by indentation or by "- - -", at the first level too deep', () => {
    const head =
      'id: blog\ntitle: Blog\nstack: php\nstories:\n  - as: reader\n    want: posts\nacceptance:\n  - path: /\n'
    // `levels` lists and objects in all: the top-level object, then one per nested key or "- ".
    const maps = (levels: number): string => {
      let text = `${head}data:\n`
      for (let i = 0; i < levels - 2; i++) text += `${' '.repeat(i + 1)}k${i}:\n`
      return `${text}${' '.repeat(levels)}x\n`
    }
    const lists = (levels: number): string => `${head}data:\n  ${'- '.repeat(levels - 1)}x\n`
    const origin = { label: 'deep.yml', path: '.devsys/deep.yml' }
    for (const text of [maps(100), lists(100)]) {
      expect(JSON.stringify(parseManifest(text, origin))).not.toContain('levels deep')
    }
    // Line 9 holds data:, so k99 (in the 101st object) is on line 109, indented 100 columns.
    expect(summarize(parseManifest(maps(850), origin))).toEqual([
      ' 109:101-109 manifest nests lists and objects more than 100 levels deep',
    ])
    // The 100th "- " (the 101st list or object) starts at column 3 + 99 * 2.
    expect(summarize(parseManifest(lists(850), origin))).toEqual([
      ' 10:201-10 manifest nests lists and objects more than 100 levels deep',
    ])
    // Far deeper input is refused as quickly, without overflowing the call stack.
    const started = Date.now()
    expect(summarize(parseManifest(lists(400_000), origin))).toEqual([
      ' 10:201-10 manifest nests lists and objects more than 100 levels deep',
    ])
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('shifts every position by the line offset of a block inside an issue body', () => {
    const text = fixture('unknown-stack.invalid.json')
    const problems = problemsOf(parseManifest(text, { label: 'issue #1 body', lineOffset: 10 }))
    expect(problems.map((p) => [p.line, p.column, p.endLine])).toEqual([[14, 12, 14]])
    const syntax = problemsOf(
      parseManifest(fixture('missing-comma.invalid.json'), { label: 'issue', lineOffset: 3 }),
    )
    expect(syntax.map((p) => [p.line, p.column])).toEqual([[7, 17]])
  })

  it('counts lines the same with Windows line endings', () => {
    const crlf = fixture('unknown-stack.invalid.json').replaceAll('\n', '\r\n')
    expect(summarize(parseManifest(crlf, { label: 'x' }))).toEqual([
      `/stack 4:12-4 'stack' is "java", which is not allowed`,
    ])
  })

  it('gives multi-line values their last line as endLine', () => {
    const text =
      'id: blog\ntitle: Blog\nstack: php\nstories:\n  - as: a\n    want: b\nacceptance:\n  - path: /\ndata:\n  - 1\n  - 2\n'
    expect(summarize(parseManifest(text, { label: 'x', format: 'yaml' }))).toEqual([
      "/data 10:3-11 'data' must be an object, found a list",
    ])
  })
})
