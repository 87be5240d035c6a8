import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { buildTaskSpec, type TaskSpecMeta } from '../../src/manifest/build-task-spec.js'
import { parseManifest } from '../../src/manifest/parse-manifest.js'
import type { Manifest } from '../../src/manifest/types.js'

function load(text: string, format: 'json' | 'yaml'): Manifest {
  const result = parseManifest(text, { label: 'test', format })
  if (!result.ok) throw new Error(JSON.stringify(result.problems))
  return result.manifest
}

const blogJson = readFileSync(new URL('../../specs/create-blog.json', import.meta.url), 'utf8')
const blogYaml = readFileSync(
  new URL('../fixtures/manifests/blog.valid.yaml', import.meta.url),
  'utf8',
)
const meta: TaskSpecMeta = {
  kind: 'issue',
  repo: 'octo/blog',
  issue: 12,
  requester: 'octocat',
  url: 'https://github.com/octo/blog/issues/12',
  createdAt: '2025-06-01T10:00:00.000Z',
}

describe('buildTaskSpec', () => {
  it('wraps the validated manifest, defaults included, in a Task document', () => {
    const manifest = load(blogJson, 'json')
    const spec = parse(buildTaskSpec(manifest, meta))
    expect(spec.apiVersion).toBe('devsys/v1')
    expect(spec.kind).toBe('Task')
    expect(spec.metadata).toEqual({
      id: 'create-blog',
      title: 'A small PHP blog',
      source: 'issue',
      repo: 'octo/blog',
      issue: 12,
      url: 'https://github.com/octo/blog/issues/12',
      requester: 'octocat',
      createdAt: '2025-06-01T10:00:00.000Z',
    })
    expect(spec.spec).toEqual(manifest)
    expect(spec.spec.acceptance[1].timeoutMs).toBe(5000)
  })

  it('is byte-identical for equal manifests, whatever their format or key order', () => {
    const fromJson = buildTaskSpec(load(blogJson, 'json'), meta)
    const fromYaml = buildTaskSpec(load(blogYaml, 'yaml'), meta)
    const reordered = JSON.stringify(
      Object.fromEntries(Object.entries(JSON.parse(blogJson)).reverse()),
    )
    expect(fromYaml).toBe(fromJson)
    expect(buildTaskSpec(load(reordered, 'json'), meta)).toBe(fromJson)
    expect(buildTaskSpec(load(blogJson, 'json'), meta)).toBe(fromJson)
  })

  it('writes keys in schema order and free-form data sorted', () => {
    const text = buildTaskSpec(load(blogJson, 'json'), {
      kind: 'push',
      repo: 'octo/blog',
      requester: 'octocat',
      commit: 'abc123',
      path: 'specs/create-blog.json',
    })
    const lines = text.split('\n')
    expect(lines.slice(0, 11)).toEqual([
      'apiVersion: devsys/v1',
      'kind: Task',
      'metadata:',
      '  id: create-blog',
      '  title: A small PHP blog',
      '  source: push',
      '  repo: octo/blog',
      '  path: specs/create-blog.json',
      '  commit: abc123',
      '  requester: octocat',
      'spec:',
    ])
    const specLines = lines.slice(lines.indexOf('spec:'))
    expect(specLines.filter((l) => /^ {2}\w/.test(l)).map((l) => l.trim().split(':')[0])).toEqual([
      'id',
      'title',
      'description',
      'stack',
      'owner',
      'stories',
      'acceptance',
      'tests',
      'deploy',
      'data',
    ])
    expect(text).toContain(
      '      - body: This is the first post.\n        id: 1\n        publishedAt: 2025-01-01\n        title: Hello, world\n',
    )
  })

  it('keeps a __proto__ key in data as data', () => {
    const manifest = load(
      JSON.stringify({ ...JSON.parse(blogJson), data: { ['__proto__']: { polluted: true } } }),
      'json',
    )
    const text = buildTaskSpec(manifest, meta)
    expect(text).toContain('  data:\n    __proto__:\n      polluted: true\n')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
