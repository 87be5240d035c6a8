import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { simpleGit } from 'simple-git'
import { DEFAULT_SANDBOX, type SandboxSettings } from '../../../runner/sandbox/sandbox-settings.js'
import { PROMPT_PATH } from '../bookkeeping-paths.js'
import type { GenerateRequest, GenerateResult, Generator } from '../types.js'
import { GenerateError } from '../types.js'
import { removeFileInside, writeFileInside } from '../write-file-inside.js'
import { buildPrompt } from './build-prompt.js'
import { runAgent } from './run-agent.js'
import { runGuarded } from './run-guarded.js'

export { PROMPT_PATH }

/** Output kept for error messages. */
const TAIL_BYTES = 64 * 1024

export interface CommandOptions {
  /** The agent command as an argument list. */
  command: readonly string[]
  timeoutSeconds: number
  forbiddenPaths: readonly string[]
  maxOutputBytes: number
  /** Between SIGTERM and SIGKILL when the agent is stopped; default 5 s. */
  killGraceMs?: number
  /** Where the agent runs (runner/sandbox); default the sandbox with default limits. */
  sandbox?: SandboxSettings
}

/**
 * A generator that runs an external coding agent in the workspace: in the sandbox (see
 * runAgent), no shell, its own process group, a scrubbed environment (PATH, LANG, a temporary
 * HOME and DEVSYS_* only), a time limit, and the same checks of what it changed as the scaffold.
 */
export function createCommandGenerator(opts: CommandOptions): Generator {
  return { kind: 'command', generate: (request) => generateWithCommand(request, opts) }
}

async function generateWithCommand(
  request: GenerateRequest,
  opts: CommandOptions,
): Promise<GenerateResult> {
  const { workspace } = request
  const limits = { forbiddenPaths: opts.forbiddenPaths, maxOutputBytes: opts.maxOutputBytes }
  const { files } = await runGuarded(request, {
    label: 'The generator command',
    timeoutSeconds: opts.timeoutSeconds,
    limits,
    // Writes the prompt (hidden from `git add` by the agent), runs the agent, and always removes
    // the prompt, the temporary HOME and the exclude line again.
    run: async () => {
      const gitDir = (
        await simpleGit({ baseDir: workspace }).revparse(['--absolute-git-dir'])
      ).trim()
      const excludeFile = join(gitDir, 'info', 'exclude')
      const exclude = await readFile(excludeFile, 'utf8').catch(() => null)
      let home: string | undefined
      try {
        await writeFileInside(workspace, PROMPT_PATH, await buildPrompt(request, limits))
        await writeFileOrCreate(excludeFile, `${exclude ?? ''}\n/${PROMPT_PATH}\n`)
        home = await mkdtemp(join(tmpdir(), 'devsys-agent-home-'))
        return await runAgent({
          argv: opts.command,
          cwd: workspace,
          env: agentEnv(request, home),
          timeoutMs: opts.timeoutSeconds * 1000,
          killGraceMs: opts.killGraceMs ?? 5000,
          tailBytes: TAIL_BYTES,
          signal: request.signal,
          sandbox: opts.sandbox ?? DEFAULT_SANDBOX,
        }).catch((error: unknown) => {
          throw startError(error, opts.command)
        })
      } finally {
        if (home !== undefined) await rm(home, { recursive: true, force: true })
        if (exclude === null) await rm(excludeFile, { force: true })
        else await writeFileOrCreate(excludeFile, exclude)
        // Last: it refuses (throws) if the agent turned .devsys into a symlink out of the workspace.
        await removeFileInside(workspace, PROMPT_PATH)
      }
    },
  })
  const summary = `Ran ${opts.command[0] ?? 'the agent'}: ${files.length} file${files.length === 1 ? '' : 's'} changed.`
  return { files, summary }
}

/** The agent's whole environment: nothing from DevSys's own (tokens, keys, settings). */
function agentEnv(request: GenerateRequest, home: string): Record<string, string> {
  const promptFile = join(request.workspace, PROMPT_PATH)
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: process.env.LANG ?? 'C.UTF-8',
    DEVSYS_TASK_SPEC: promptFile,
    DEVSYS_PROMPT_FILE: promptFile,
    DEVSYS_TASK_ID: request.manifest.id,
    DEVSYS_WORKSPACE: request.workspace,
  }
}

/** A command that cannot be started is a configuration problem, not the agent's failure. */
function startError(error: unknown, command: readonly string[]): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code !== 'ENOENT' && code !== 'EACCES') return error
  return new GenerateError(
    'not-configured',
    `The generator command ${JSON.stringify(command[0])} could not be started (${code}). Install it on the DevSys host (it is looked up on PATH), or fix generator.command in .github/devsys.yml.`,
  )
}

async function writeFileOrCreate(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, content)
}
