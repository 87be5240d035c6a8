import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGenerator } from '../../src/generate/create-generator.js'
import { DEFAULT_TESTS } from '../../src/manifest/apply-stack-defaults.js'
import type { Manifest } from '../../src/manifest/types.js'
import {
  commitAll,
  createWorkspace,
  DEFAULT_CONFIG,
  loadManifest,
  requestFor,
  type TestWorkspace,
} from './workspace.js'

const run = promisify(execFile)

let ws: TestWorkspace
beforeEach(async () => {
  ws = await createWorkspace()
})
afterEach(async () => {
  await ws.cleanup()
})

/** Runs the static stack's default test command (node from this process) in the workspace. */
async function runSiteTests(dir: string): Promise<{ code: number; junit: string; out: string }> {
  const [, ...args] = DEFAULT_TESTS.static.command
  try {
    const { stdout } = await run(process.execPath, args, { cwd: dir })
    return { code: 0, junit: await readFile(join(dir, 'build/junit.xml'), 'utf8'), out: stdout }
  } catch (error) {
    const failed = error as { code: number; stdout: string }
    const junit = await readFile(join(dir, 'build/junit.xml'), 'utf8').catch(() => '')
    return { code: failed.code, junit, out: failed.stdout }
  }
}

function withHomeChecks(value: Record<string, unknown>): void {
  value.description = 'Say "hi" & <wave>.'
  value.acceptance = [
    { id: 'home', path: '/', bodyContains: ['Hello page', 'to be greeted'] },
    {
      id: 'escaped',
      path: '/index.html',
      bodyContains: ['Say &quot;hi&quot; &amp; &lt;wave&gt;.'],
    },
    { id: 'no-admin', path: '/admin', status: 404 },
    { id: 'posting', method: 'POST', path: '/', status: 405 },
  ]
}

describe('scaffold, static stack', () => {
  it('writes a site whose generated tests pass with the default test command', async () => {
    const manifest = await loadManifest(
      'test/fixtures/manifests/minimal.valid.yaml',
      withHomeChecks,
    )
    const result = await createGenerator('scaffold', DEFAULT_CONFIG).generate(
      requestFor(ws.dir, manifest),
    )
    expect(result.files).toEqual([
      '.devsys/generated.json',
      '.devsys/task.yml',
      '.gitignore',
      'README.md',
      'build/.gitkeep',
      'public/index.html',
      'public/style.css',
      'test/site.json',
      'test/site.test.mjs',
    ])
    await commitAll(ws.dir, 'generated')

    const index = await readFile(join(ws.dir, 'public/index.html'), 'utf8')
    for (const check of manifest.acceptance.slice(0, 2)) {
      for (const text of check.bodyContains ?? []) expect(index).toContain(text)
    }
    expect(index).not.toContain('<wave>')

    const tests = await runSiteTests(ws.dir)
    expect(tests.code).toBe(0)
    expect(tests.junit).toMatch(/<testcase name="home: GET \/ answers 200"/)
    expect(tests.junit).toMatch(/<testcase name="no-admin: GET \/admin answers 404"/)
    expect(tests.junit).not.toContain('<failure')
    expect(tests.junit).toContain('<skipped') // the POST check is left to the deploy checks
  })

  it('writes tests that fail when the site does not meet an acceptance check', async () => {
    const manifest = await loadManifest('test/fixtures/manifests/minimal.valid.yaml', (m) => {
      m.acceptance = [{ id: 'promise', path: '/', bodyContains: ['Something the page never says'] }]
    })
    await createGenerator('scaffold', DEFAULT_CONFIG).generate(requestFor(ws.dir, manifest))
    const tests = await runSiteTests(ws.dir)
    expect(tests.code).toBe(1)
    expect(tests.junit).toContain('Something the page never says')
  })

  it('gives the same bytes for the same manifest', async () => {
    const manifest: Manifest = await loadManifest('test/fixtures/manifests/minimal.valid.yaml')
    const generator = createGenerator('scaffold', DEFAULT_CONFIG)
    await generator.generate(requestFor(ws.dir, manifest))
    await commitAll(ws.dir, 'generated')
    expect((await generator.generate(requestFor(ws.dir, manifest))).files).toEqual([])
  })
})
