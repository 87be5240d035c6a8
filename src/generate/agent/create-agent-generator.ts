import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { handOver } from '../../../runner/sandbox/hand-over.js'
import { DEFAULT_SANDBOX, type SandboxSettings } from '../../../runner/sandbox/sandbox-settings.js'
import type { AgentName } from '../../config/load-repo-config.js'
import { buildPrompt } from '../command/build-prompt.js'
import type { AgentRun } from '../command/run-agent.js'
import { runAgent } from '../command/run-agent.js'
import { runGuarded } from '../command/run-guarded.js'
import type { GenerateRequest, GenerateResult, Generator } from '../types.js'
import { GenerateError } from '../types.js'
import { findAgentBinary } from './agent-binaries.js'
import { buildLaunch } from './agent-presets.js'
import { FORWARDER } from './forwarder.js'
import { type ParsedEvents, parseAgentEvents } from './parse-activity.js'
import { type ModelEndpoint, serveModelProxy } from './serve-model-proxy.js'

/** The port the forwarder listens on inside the sandbox's own network namespace. */
export const INNER_PORT = 8788
/**
 * The address-space limit (RLIMIT_AS) of an agent's processes: opencode is a Bun program, whose
 * JavaScript engine reserves far more address space than it uses and crashes (SIGILL) under the
 * 4 GiB that suits test commands. Reserved space is not memory, so this limit bounds little.
 */
const AGENT_ADDRESS_SPACE = 64 * 1024 * 1024 * 1024
/** Output kept for error messages. */
const TAIL_BYTES = 64 * 1024
/** Most of the event stream kept for the activity summary. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024
/** Prompts longer than this are read by the agent from the prompt file instead. */
const MAX_PROMPT_ARG = 96 * 1024

export interface AgentOptions {
  agent: AgentName
  model: string
  endpoint: ModelEndpoint
  timeoutSeconds: number
  forbiddenPaths: readonly string[]
  maxOutputBytes: number
  killGraceMs?: number
  sandbox?: SandboxSettings
}

/**
 * A generator that runs opencode or Codex (DevSys's own pinned npm dependencies) on the task:
 * in the sandbox with the work tree, a private home and its own binaries only, in a network
 * namespace whose only way out is DevSys's model proxy (which adds the API key), with the same
 * checks of what it changed as the command generator. Its JSON events become the activity.
 */
export function createAgentGenerator(opts: AgentOptions): Generator {
  return { kind: 'agent', generate: (request) => generateWithAgent(request, opts) }
}

const agentSandboxes = new WeakMap<SandboxSettings, SandboxSettings>()

/**
 * The server's sandbox settings with the agents' larger address space, made once per settings
 * object: the sandbox probe is cached per settings object, so every iteration and every job
 * of the server reuses one probe instead of starting bwrap again.
 */
export function agentSandbox(settings: SandboxSettings): SandboxSettings {
  let sandbox = agentSandboxes.get(settings)
  if (sandbox === undefined) {
    const memoryBytes = Math.max(settings.limits.memoryBytes, AGENT_ADDRESS_SPACE)
    sandbox = { ...settings, limits: { ...settings.limits, memoryBytes } }
    agentSandboxes.set(settings, sandbox)
  }
  return sandbox
}

async function generateWithAgent(
  request: GenerateRequest,
  opts: AgentOptions,
): Promise<GenerateResult> {
  const sandbox = agentSandbox(opts.sandbox ?? DEFAULT_SANDBOX)
  const limits = { forbiddenPaths: opts.forbiddenPaths, maxOutputBytes: opts.maxOutputBytes }
  let binary: ReturnType<typeof findAgentBinary>
  try {
    binary = findAgentBinary(opts.agent)
  } catch (error) {
    throw new GenerateError(
      'not-configured',
      `The ${opts.agent} agent is not available on this DevSys server: ${(error as Error).message}.`,
    )
  }
  let events: ParsedEvents = { toolCalls: [] }
  /** Set when the run ended while a model request was still unanswered. */
  let waitingSince: number | undefined
  const parse = (run: AgentRun, text?: string) => {
    if (text !== undefined) events = parseAgentEvents(opts.agent, text, request.workspace)
    if (run.timedOut && waitingSince !== undefined) {
      const seconds = Math.round((Date.now() - waitingSince) / 1000)
      return `It was waiting for the model endpoint, which had not answered for ${seconds} s.`
    }
    const said = events.error ?? firstErrorLine(run.tail)
    return said === undefined ? undefined : `It said: ${said.replace(/\.?$/, '.')}`
  }
  const { files, durationMs } = await runGuarded(request, {
    label: `The ${opts.agent} agent`,
    timeoutSeconds: opts.timeoutSeconds,
    limits,
    exitAdvice:
      "If the model endpoint refused or failed the request, check the server's AGENT_BASE_URL, AGENT_API_KEY and the model (generator.model in .github/devsys.yml or AGENT_MODEL); otherwise fix the cause and ask again (for example with /revise).",
    explain: (run) => parse(run),
    reportedError: () => events.error,
    run: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'devsys-agent-'))
      let proxy: Awaited<ReturnType<typeof serveModelProxy>> | undefined
      try {
        const run = await runInPrivateDir(dir)
        waitingSince = proxy?.oldestUnanswered()
        parse(run, await readFile(join(dir, 'out', 'events.jsonl'), 'utf8').catch(() => ''))
        return run
      } finally {
        await proxy?.close()
        await rm(dir, { recursive: true, force: true })
      }

      async function runInPrivateDir(dir: string): Promise<AgentRun> {
        // 1. The private folders: the prompt (read-only for the agent), the proxy's socket,
        //    the agent's home, and where its events are kept.
        await chmod(dir, 0o755)
        const paths = {
          task: join(dir, 'task'),
          proxy: join(dir, 'proxy'),
          home: join(dir, 'home'),
          out: join(dir, 'out'),
        }
        for (const path of Object.values(paths)) await mkdir(path, { mode: 0o755 })
        const promptFile = join(paths.task, 'prompt.md')
        const prompt = await buildPrompt(request, limits)
        await writeFile(promptFile, prompt, { mode: 0o644 })

        // 2. The model proxy: a Unix socket for the sandbox, a loopback port without it.
        const socket = join(paths.proxy, 'model.sock')
        proxy = await serveModelProxy(
          opts.endpoint,
          sandbox.enabled ? { socketPath: socket } : { loopback: true },
        )
        const port = sandbox.enabled ? INNER_PORT : (proxy.port ?? 0)

        // 3. The agent's invocation and config files.
        const launch = buildLaunch(opts.agent, {
          program: binary.program,
          workspace: request.workspace,
          home: paths.home,
          baseUrl: `http://127.0.0.1:${port}${proxy.basePath}`,
          model: opts.model,
          prompt:
            Buffer.byteLength(prompt) <= MAX_PROMPT_ARG
              ? prompt
              : `Your task is in the file ${promptFile}. Read it completely, then do what it says.`,
        })
        for (const file of launch.files) {
          await mkdir(dirname(join(paths.home, file.path)), { recursive: true })
          await writeFile(join(paths.home, file.path), file.content)
        }
        if (sandbox.enabled && process.getuid?.() === 0) {
          for (const path of [paths.home, paths.out]) {
            await handOver(path, { uid: sandbox.uid, gid: sandbox.gid })
          }
        }

        // 4. Run it: the forwarder starts the agent and keeps its events.
        const argv = [
          process.execPath,
          '-e',
          FORWARDER,
          '--',
          sandbox.enabled ? socket : '-',
          String(port),
          join(paths.out, 'events.jsonl'),
          String(MAX_EVENT_BYTES),
          ...launch.argv,
        ]
        return runAgent({
          argv,
          cwd: request.workspace,
          env: {
            PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
            LANG: process.env.LANG ?? 'C.UTF-8',
            TMPDIR: tmpdir(),
            ...launch.env,
          },
          sandboxEnv: { HOME: launch.env.HOME ?? paths.home, TMPDIR: launch.env.TMPDIR ?? '/tmp' },
          timeoutMs: opts.timeoutSeconds * 1000,
          killGraceMs: opts.killGraceMs ?? 5000,
          tailBytes: TAIL_BYTES,
          signal: request.signal,
          sandbox,
          network: 'loopback',
          mounts: [
            { host: paths.task },
            { host: paths.proxy },
            { host: paths.home, writable: true },
            { host: paths.out, writable: true },
            { host: binary.packageDir },
          ],
        })
      }
    },
  })
  const toolCalls = events.toolCalls
  const activity = {
    agent: opts.agent,
    model: opts.model,
    toolCalls,
    ...(events.usage === undefined ? {} : { usage: events.usage }),
    durationMs,
  }
  const tokens =
    events.usage === undefined
      ? ''
      : `, ${events.usage.inputTokens + events.usage.outputTokens} tokens`
  const summary = `Ran ${opts.agent} (${opts.model}): ${toolCalls.length} tool call${toolCalls.length === 1 ? '' : 's'}${tokens}, ${files.length} file${files.length === 1 ? '' : 's'} changed.`
  return { files, summary, activity }
}

/** Without a parsed error, the agent's last line that mentions one. */
function firstErrorLine(tail: string): string | undefined {
  const lines = tail.split('\n').filter((line) => /error/i.test(line) && !line.startsWith('{'))
  const line = lines.at(-1)?.trim()
  return line === undefined || line === '' ? undefined : line.slice(0, 500)
}
