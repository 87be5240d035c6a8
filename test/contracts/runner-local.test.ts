import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect } from 'vitest'
import { createLocalRunner } from '../../runner/local/create-local-runner.js'
import { DEFAULT_SANDBOX } from '../../runner/sandbox/sandbox-settings.js'
import { requireTool } from '../helpers/require-tool.js'
import { runnerContract } from './runner.contract.js'

const hasPhpUnit =
  requireTool('php', 'the generated blog is tested with PHP') &&
  requireTool('phpunit', 'the generated blog is tested with its PHPUnit suite')

/** A folder for the runs, which every run must leave empty. */
function runsFolder() {
  let runs = ''
  return {
    path: () => runs,
    setUp: async () => {
      runs = await mkdtemp(join(tmpdir(), 'devsys-runs-'))
    },
    tearDown: () => rm(runs, { recursive: true, force: true }),
    leftNothingBehind: async () => {
      expect(await readdir(runs)).toEqual([])
    },
  }
}

describe('local runner (bubblewrap sandbox): the Runner contract', () => {
  const runs = runsFolder()
  runnerContract({
    kind: 'local',
    ...runs,
    runner: () => createLocalRunner({ tmpDir: runs.path(), killGraceMs: 300 }),
    hasPhpUnit,
    envNames: ['APP_ENV', 'HOME', 'LANG', 'PATH', 'TMPDIR'],
    // HOME and TMPDIR are the sandbox's own /tmp, in memory.
    home: /^\/tmp$/,
    // The sandbox has a pid namespace of its own.
    hostPids: false,
    timeLimit: { timeoutMs: 500, returnsWithinMs: 5000 },
    abortAfterMs: 300,
    bigOutput: { bytes: 2_000_000_000, testTimeoutMs: 60_000 },
    missingCommand: /no-such-test-tool: not found/,
  })
})

describe('local runner without the sandbox (DEVSYS_UNSAFE_NO_SANDBOX=true): the Runner contract', () => {
  const runs = runsFolder()
  runnerContract({
    kind: 'local',
    ...runs,
    runner: () =>
      createLocalRunner({
        tmpDir: runs.path(),
        killGraceMs: 300,
        sandbox: { ...DEFAULT_SANDBOX, enabled: false },
      }),
    hasPhpUnit,
    get home() {
      return new RegExp(`^${runs.path()}/`)
    },
    // A child of DevSys: its pids are this machine's.
    hostPids: true,
    timeLimit: { timeoutMs: 500, returnsWithinMs: 5000 },
    abortAfterMs: 300,
    bigOutput: { bytes: 2_000_000_000, testTimeoutMs: 60_000 },
    missingCommand: /cannot start "no-such-test-tool"/,
  })
})
