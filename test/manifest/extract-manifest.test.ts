import { describe, expect, it } from 'vitest'
import {
  extractManifestFromIssue,
  matchesManifestGlobs,
} from '../../src/manifest/extract-manifest.js'
import { parseManifest } from '../../src/manifest/parse-manifest.js'
import type { ManifestProblem } from '../../src/manifest/types.js'

const BLOCK = [
  '{',
  '  "id": "blog",',
  '  "title": "Blog",',
  '  "stack": "java",',
  '  "stories": [{ "as": "reader", "want": "posts" }],',
  '  "acceptance": [{ "path": "/" }]',
  '}',
]

describe('extractManifestFromIssue: fenced blocks', () => {
  it('takes the first json block and reports positions relative to the issue body', () => {
    const body = ['Please build a blog.', '', '```json', ...BLOCK, '```', '', 'Thanks!'].join('\n')
    const found = extractManifestFromIssue(body)
    expect(found).toEqual({
      kind: 'inline',
      text: `${BLOCK.join('\n')}\n`,
      format: 'json',
      lineOffset: 3,
    })
    if (found.kind !== 'inline') throw new Error('expected an inline manifest')
    const result = parseManifest(found.text, {
      label: 'issue #1 body',
      format: found.format,
      lineOffset: found.lineOffset,
    })
    const problems = result.ok ? [] : result.problems
    // "stack" is on line 7 of the body: 3 lines before the block, then line 4 of the block.
    expect(problems.map((p: ManifestProblem) => [p.pointer, p.line, p.column])).toEqual([
      ['/stack', 7, 12],
    ])
    expect(body.split('\n')[6]).toBe('  "stack": "java",')
  })

  it('reads ~~~ fences, yml info strings with attributes, and CRLF bodies', () => {
    const body = 'Intro\r\n\r\n~~~~ YML title="manifest"\r\nid: blog\r\ntitle: Blog\r\n~~~~\r\n'
    expect(extractManifestFromIssue(body)).toEqual({
      kind: 'inline',
      text: 'id: blog\r\ntitle: Blog\r\n',
      format: 'yaml',
      lineOffset: 3,
    })
  })

  it('skips other code blocks, including a json fence shown inside a longer fence', () => {
    const body = [
      '```bash',
      'npm test',
      '```',
      '````markdown',
      '```json',
      '{"shown": "as an example"}',
      '```',
      '````',
      '```yaml',
      'id: real',
      '```',
    ].join('\n')
    expect(extractManifestFromIssue(body)).toEqual({
      kind: 'inline',
      text: 'id: real\n',
      format: 'yaml',
      lineOffset: 9,
    })
  })

  it('runs an unclosed block to the end of the body, as Markdown does', () => {
    expect(extractManifestFromIssue('```yaml\nid: blog')).toEqual({
      kind: 'inline',
      text: 'id: blog',
      format: 'yaml',
      lineOffset: 1,
    })
  })

  it('finds nothing in empty bodies, prose, or blocks in other languages', () => {
    expect(extractManifestFromIssue(null)).toEqual({ kind: 'none' })
    expect(extractManifestFromIssue('   ')).toEqual({ kind: 'none' })
    expect(extractManifestFromIssue('Just a wish.\nManifest: see below')).toEqual({ kind: 'none' })
    expect(extractManifestFromIssue('```js\nconst a = 1\n```')).toEqual({ kind: 'none' })
  })
})

describe('extractManifestFromIssue: file references', () => {
  it.each([
    ['manifest: specs/blog.json', 'specs/blog.json'],
    ['Manifest: .devsys/blog.yml', '.devsys/blog.yml'],
    ['MANIFEST : `./specs/blog.yaml`  ', 'specs/blog.yaml'],
  ])('reads %j as the file %s', (line, path) => {
    expect(extractManifestFromIssue(`Build this.\n\n${line}\n`)).toEqual({ kind: 'file', path })
  })

  it('ignores a reference shown inside a code block', () => {
    expect(extractManifestFromIssue('```\nmanifest: specs/blog.json\n```')).toEqual({
      kind: 'none',
    })
  })

  it.each([
    ['manifest: /etc/passwd.json', 'is absolute'],
    ['manifest: ~/blog.json', 'is absolute'],
    ['manifest: ../other/blog.json', "contains '..'"],
    ['manifest: specs/../../blog.json', "contains '..'"],
    ['manifest: specs\\blog.json', 'contains a backslash; use forward slashes'],
    ['manifest: C:/blog.json', 'is a URL or drive path, not a repository path'],
    ['manifest: https://example.com/blog.json', 'is a URL or drive path, not a repository path'],
    ['manifest: specs/blog\u0000.json', 'contains control characters'],
  ])('rejects %j because it %s', (line, reason) => {
    const found = extractManifestFromIssue(line)
    expect(found.kind).toBe('invalid')
    if (found.kind !== 'invalid') return
    expect(found.message).toContain(` ${reason}. Name a file by its path from the repository root`)
    expect(found.message).not.toContain('\u0000')
  })

  it('rejects files that are not JSON or YAML', () => {
    expect(extractManifestFromIssue('manifest: README.md')).toEqual({
      kind: 'invalid',
      message: 'The manifest file `README.md` must end in .json, .yml or .yaml.',
    })
  })

  it('refuses a body with both a block and a reference', () => {
    expect(extractManifestFromIssue('manifest: specs/a.json\n\n```json\n{}\n```')).toEqual({
      kind: 'invalid',
      message:
        'The issue body has both a manifest block (line 3) and a manifest file reference (line 1); keep only one.',
    })
  })
})

describe('matchesManifestGlobs', () => {
  const defaults = ['specs/*.json', '.devsys/*.yml', '.devsys/*.yaml', '.devsys/*.json']

  it('matches the default manifest locations and nothing deeper', () => {
    expect(matchesManifestGlobs('specs/blog.json', defaults)).toBe(true)
    expect(matchesManifestGlobs('.devsys/blog.yml', defaults)).toBe(true)
    expect(matchesManifestGlobs('.devsys/blog.yaml', defaults)).toBe(true)
    expect(matchesManifestGlobs('specs/nested/blog.json', defaults)).toBe(false)
    expect(matchesManifestGlobs('specs/blog.yml', defaults)).toBe(false)
    expect(matchesManifestGlobs('src/specs/blog.json', defaults)).toBe(false)
  })

  it('supports ** and never matches unsafe paths', () => {
    expect(matchesManifestGlobs('a/b/c/blog.json', ['**/*.json'])).toBe(true)
    expect(matchesManifestGlobs('specs/../secrets.json', ['specs/**'])).toBe(false)
    expect(matchesManifestGlobs('/specs/blog.json', ['/specs/*.json'])).toBe(false)
    expect(matchesManifestGlobs('specs/blog.json', [])).toBe(false)
  })
})
