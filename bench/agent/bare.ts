import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { AgentName } from '../../src/config/load-repo-config.js'
import { findAgentBinary } from '../../src/generate/agent/agent-binaries.js'
import { buildLaunch } from '../../src/generate/agent/agent-presets.js'
import { buildPrompt } from '../../src/generate/command/build-prompt.js'
import type { GenerateRequest } from '../../src/generate/types.js'

export interface BareRun {
  /** Spawn → exit of the agent's process, ms. */
  ms: number
  exitCode: number | null
  /** Its stdout (the JSON event stream) and stderr, for a failed run's message. */
  output: string
}

/**
 * The agent run bare: the argv, environment and config files the preset builds
 * (agent-presets.ts), the prompt DevSys would give it, a private home of its own, pointed
 * straight at the model server: no sandbox, no forwarder, no proxy, no checks. Only the spawn
 * to the exit is timed; the home is made before and removed after.
 */
export async function runBare(input: {
  agent: AgentName
  model: string
  /** The model server's base URL, e.g. http://127.0.0.1:4321/v1 */
  baseUrl: string
  request: Pick<GenerateRequest, 'workspace' | 'manifest' | 'spec' | 'iteration'>
  limits: { forbiddenPaths: readonly string[]; maxOutputBytes: number }
}): Promise<BareRun> {
  const home = await mkdtemp(join(tmpdir(), 'devsys-bench-bare-'))
  try {
    const launch = buildLaunch(input.agent, {
      program: findAgentBinary(input.agent).program,
      workspace: input.request.workspace,
      home,
      baseUrl: input.baseUrl,
      model: input.model,
      prompt: await buildPrompt(input.request, input.limits),
    })
    for (const file of launch.files) {
      await mkdir(dirname(join(home, file.path)), { recursive: true })
      await writeFile(join(home, file.path), file.content)
    }
    const [program, ...args] = launch.argv
    if (program === undefined) throw new Error('the preset built an empty argv')
    const started = performance.now()
    const child = spawn(program, args, {
      cwd: input.request.workspace,
      // As the generator builds it, without the sandbox's replacements.
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        LANG: process.env.LANG ?? 'C.UTF-8',
        TMPDIR: tmpdir(),
        ...launch.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const chunks: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk))
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code) => resolve(code))
    })
    const ms = performance.now() - started
    return { ms, exitCode, output: Buffer.concat(chunks).toString('utf8') }
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}
