import type { SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import type { GeneratorKind, RepoConfig } from '../config/load-repo-config.js'
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
  if (kind === 'agent') {
    throw new GenerateError(
      'not-configured',
      'The agent generator (opencode or Codex) is not available in this version of DevSys. Set generator.kind in .github/devsys.yml to "scaffold" or "command".',
    )
  }
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
