/**
 * Steps of the end-to-end scenarios with a real coding agent (opencode or Codex, DevSys's own
 * pinned binaries) driven by the scripted fake model server: a repository whose
 * `.github/devsys.yml` selects `kind: agent`, a tiny task whose tests are a shell script
 * writing JUnit, and DevSys started with AGENT_BASE_URL pointing at the fake.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterEach } from 'vitest'
import { git } from '../helpers/git-remote.js'
import { type FakeLlm, type FakeTurn, startFakeLlm } from '../support/fake-llm.js'
import type { E2eWorld } from './e2e-world.js'
import { TESTS_CHECK } from './scenario-steps.js'

/** The key DevSys's proxy adds; distinctive, so a leak is found by a substring search. */
export const AGENT_KEY = 'sk-devsys-e2e-7d41c0ffee-never-leak'
export const MODEL = 'fake-coder-1'
/** Usage the fake reports for every answered turn: distinctive numbers to find in the PR. */
export const USAGE = { input: 1234, output: 56, cached: 200 }

/**
 * The task's test suite, as the agent writes it: one JUnit case, `greet says hello`, failing
 * with what `greet.sh` printed when that is not `Hello`.
 */
export const TEST_SUITE = `#!/bin/sh
mkdir -p build
out=$(sh greet.sh)
if [ "$out" = "Hello" ]; then
  printf '<testsuite name="greet" tests="1"><testcase classname="greet" name="says hello" time="0.01"/></testsuite>' > build/junit.xml
  exit 0
fi
printf '<testsuite name="greet" tests="1"><testcase classname="greet" name="says hello" time="0.01"><failure message="expected Hello, got %s">greet.sh printed %s</failure></testcase></testsuite>' "$out" "$out" > build/junit.xml
echo "1 test, 1 failure"
exit 1
`

/**
 * A manifest for a greeting whose tests are `sh tests/run.sh`; no `generator`, so the repo
 * config's `kind: agent` decides. Its title holds `marker`, which is in the agent's prompt and
 * so in its command line: how a test finds processes left behind.
 */
export function greetManifest(marker: string): { id: string; text: string } {
  const id = `greet-${marker}`
  const manifest = {
    id,
    title: `A greeting ${marker}`,
    stack: 'static',
    stories: [{ as: 'visitor', want: 'to be greeted' }],
    acceptance: [{ path: '/', bodyContains: ['Hello'] }],
    tests: { command: ['sh', 'tests/run.sh'], junit: 'build/junit.xml', timeoutSeconds: 60 },
  }
  return { id, text: JSON.stringify(manifest, null, 2) }
}

/** A short random marker for task ids and titles. */
export function newMarker(): string {
  return randomBytes(4).toString('hex')
}

/** `.github/devsys.yml` selecting `agent` with the fake's model, `maxIterations` and a timeout. */
export function agentConfig(
  agent: 'opencode' | 'codex',
  maxIterations: number,
  timeoutSeconds = 60,
): string {
  return [
    'generator:',
    '  kind: agent',
    `  agent: ${agent}`,
    `  model: ${MODEL}`,
    `  maxIterations: ${maxIterations}`,
    '  budgetSeconds: 600',
    `  timeoutSeconds: ${timeoutSeconds}`,
    '',
  ].join('\n')
}

/** Commits `files` (path → text) on `main` of the world's bare repository, as a person pushes. */
export function commitOnMain(world: E2eWorld, files: Record<string, string>, message: string) {
  const work = mkdtempSync(join(world.remote.root, 'config-'))
  try {
    git(world.remote.root, 'clone', '-q', world.remote.bare, work)
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true })
      writeFileSync(join(work, path), text)
    }
    git(work, 'add', '-A')
    git(work, 'commit', '-q', '-m', message)
    git(work, 'push', '-q', 'origin', 'main')
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/**
 * Registers an afterEach closing the fake model server of the test; call once per file after
 * useE2eWorld(). `start` starts the fake playing `script` and DevSys with AGENT_* pointing at
 * it (the local runner: task tests in the bubblewrap sandbox on this host).
 */
export function useFakeModel(world: E2eWorld) {
  let fake: FakeLlm | undefined
  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })
  return {
    async start(script: FakeTurn[]): Promise<FakeLlm> {
      fake = await startFakeLlm({ script, usage: USAGE })
      await world.startDevsys({
        env: {
          TEST_RUNNER: 'local',
          AGENT_BASE_URL: fake.url,
          AGENT_API_KEY: AGENT_KEY,
        },
      })
      return fake
    },
  }
}

/**
 * The body of each model request of the task, in order, as text: requests offering tools
 * (opencode's side request for a session title offers none, and is left out).
 */
export function requestTexts(fake: FakeLlm): string[] {
  return fake
    .modelRequests()
    .filter((r) => {
      const tools = (r.body as { tools?: unknown } | null)?.tools
      return Array.isArray(tools) && tools.length > 0
    })
    .map((r) => JSON.stringify(r.body))
}

/** The commits on `branch` that are not on main, oldest first. */
export function branchCommits(bare: string, branch: string): string[] {
  return git(bare, 'rev-list', '--reverse', `main..${branch}`)
    .split('\n')
    .filter((sha) => sha !== '')
}

/** The conclusion of the `DevSys / tests` check run on `sha`, as GitHub shows it. */
export function testsConclusion(world: E2eWorld, sha: string): unknown {
  return world.repo.checkRun(TESTS_CHECK, sha)?.conclusion
}
