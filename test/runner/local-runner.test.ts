import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createLocalRunner } from '../../runner/local/create-local-runner.js'
import { DEFAULT_SANDBOX } from '../../runner/sandbox/sandbox-settings.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { createBlogWorkspace, runRequest } from './blog-workspace.js'

// What every runner must do is in test/contracts/runner.contract.ts, run against the local
// runner with and without its sandbox by test/contracts/runner-local.test.ts; here is only what
// is the local runner's own.

let ws: TestWorkspace
let runs: string
beforeAll(async () => {
  ws = await createBlogWorkspace()
}, 60_000)
afterAll(async () => {
  await ws.cleanup()
})
beforeEach(async () => {
  runs = await mkdtemp(join(tmpdir(), 'devsys-runs-'))
})
afterEach(async () => {
  // Every run removes its own directory, whatever happened.
  expect(await readdir(runs)).toEqual([])
  await rm(runs, { recursive: true, force: true })
})

describe('local runner without the sandbox (DEVSYS_UNSAFE_NO_SANDBOX=true on the server)', () => {
  const unconfined = () =>
    createLocalRunner({
      tmpDir: runs,
      killGraceMs: 300,
      sandbox: { ...DEFAULT_SANDBOX, enabled: false },
    })

  it('runs the command as a child of DevSys, on a copy, with a scrubbed environment', async () => {
    const result = await unconfined().run(
      runRequest(ws.dir, { command: ['sh', '-c', 'env; id -u'], env: { APP_ENV: 'test' } }),
    )
    expect(result.stdout.text).toContain(`HOME=${runs}/`)
    expect(result.stdout.text).toContain('APP_ENV=test')
    expect(result.stdout.text.trim().split('\n').at(-1)).toBe(String(process.getuid?.()))
  })
})
