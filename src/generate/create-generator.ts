import type { SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import type { AgentName, GeneratorKind, RepoConfig } from '../config/load-repo-config.js'
import { createAgentGenerator } from './agent/create-agent-generator.js'
import type { ModelEndpoint } from './agent/serve-model-proxy.js'
import { createCommandGenerator } from './command/create-command-generator.js'
import { createScaffoldGenerator } from './scaffold/create-scaffold-generator.js'
import { GenerateError, type Generator } from './types.js'

/** Default largest total size of the files one generation may add or change. */
export const DEFAULT_MAX_OUTPUT_BYTES = 20 * 1024 * 1024

export interface CreateGeneratorOptions {
  /** Largest total size of added and changed files; default 20 MiB. */
  maxOutputBytes?: number
  /** Command generator: time between SIGTERM and SIGKILL when stopping the agent; default 5 s. */
  killGraceMs?: number
  /** Command generator: where the agent runs; default the sandbox with default limits. */
  sandbox?: SandboxSettings
  /** Agent generator: the server's model endpoint and default model (AGENT_* variables). */
  agent?: AgentServerSettings
}

/** The server's side of the agent presets; a repository never sets these. */
export interface AgentServerSettings {
  /** AGENT_BASE_URL and AGENT_API_KEY; undefined when the server configures no endpoint. */
  endpoint?: ModelEndpoint
  /** AGENT_MODEL: the model when the repo config names none. */
  model?: string
  /** Agents refused at start (missing binary, wrong version), with the reason. */
  unavailable: Partial<Record<AgentName, string>>
}

/**
 * Returns the generator of the given kind (the manifest's `generator`), set up from the repo
 * config's `generator` section. A command generator without a configured command is refused.
 */
export function createGenerator(
  kind: GeneratorKind,
  config: RepoConfig['generator'],
  opts: CreateGeneratorOptions = {},
): Generator {
  const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES
  const forbiddenPaths = config.forbiddenPaths
  if (kind === 'scaffold') return createScaffoldGenerator({ forbiddenPaths, maxOutputBytes })
  if (kind === 'agent') return agentGenerator(config, opts, maxOutputBytes)
  if (config.command === undefined || config.command.length === 0) {
    throw new GenerateError(
      'not-configured',
      'The manifest asks for the command generator, but this repository configures no command. Set generator.command in .github/devsys.yml on the default branch to the coding agent as a list of arguments (for example ["my-agent", "--non-interactive"]), or set the manifest\'s generator to "scaffold".',
    )
  }
  return createCommandGenerator({
    command: config.command,
    timeoutSeconds: config.timeoutSeconds,
    forbiddenPaths,
    maxOutputBytes,
    ...(opts.killGraceMs === undefined ? {} : { killGraceMs: opts.killGraceMs }),
    ...(opts.sandbox === undefined ? {} : { sandbox: opts.sandbox }),
  })
}

function agentGenerator(
  config: RepoConfig['generator'],
  opts: CreateGeneratorOptions,
  maxOutputBytes: number,
): Generator {
  const agent = config.agent
  if (agent === undefined) {
    throw new GenerateError(
      'not-configured',
      'The manifest asks for the agent generator, but this repository names no agent. Set generator.agent in .github/devsys.yml on the default branch to "opencode" or "codex".',
    )
  }
  const server = opts.agent
  if (server?.endpoint === undefined) {
    throw new GenerateError(
      'not-configured',
      `The ${agent} agent needs a model endpoint, and this DevSys server configures none. The server's operator sets AGENT_BASE_URL (an OpenAI-compatible endpoint) and AGENT_API_KEY; until then use generator.kind "scaffold" or "command".`,
    )
  }
  const unavailable = server.unavailable[agent]
  if (unavailable !== undefined) {
    throw new GenerateError(
      'not-configured',
      `The ${agent} agent is not available on this DevSys server: ${unavailable}.`,
    )
  }
  const model = config.model ?? server.model
  if (model === undefined) {
    throw new GenerateError(
      'not-configured',
      `No model is chosen for the ${agent} agent. Set generator.model in .github/devsys.yml (e.g. gpt-4.1), or ask the server's operator to set AGENT_MODEL.`,
    )
  }
  return createAgentGenerator({
    agent,
    model,
    endpoint: server.endpoint,
    timeoutSeconds: config.timeoutSeconds,
    forbiddenPaths: config.forbiddenPaths,
    maxOutputBytes,
    ...(opts.killGraceMs === undefined ? {} : { killGraceMs: opts.killGraceMs }),
    ...(opts.sandbox === undefined ? {} : { sandbox: opts.sandbox }),
  })
}
