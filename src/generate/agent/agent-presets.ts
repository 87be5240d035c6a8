import { join } from 'node:path'
import type { AgentName } from '../../config/load-repo-config.js'

/** What a preset needs to know, as paths and addresses the agent sees them. */
export interface PresetInput {
  /** The agent's native program. */
  program: string
  workspace: string
  /** The private, writable home of this run (outside the work tree). */
  home: string
  /** The model endpoint as the agent reaches it (DevSys's proxy), e.g. http://127.0.0.1:8788/v1 */
  baseUrl: string
  model: string
  /** The task, handed over as one argument (never through a shell). */
  prompt: string
}

/** The exact invocation: argv, environment and config files written under `home`. */
export interface AgentLaunch {
  argv: string[]
  env: Record<string, string>
  files: Array<{ path: string; content: string }>
}

/** The key the agent is configured with; DevSys's proxy replaces it with the real one. */
export const DUMMY_KEY = 'devsys-proxy-adds-the-key'
/** A registry address nothing listens on: opencode fetches npm packages at start. */
const DEAD_REGISTRY = 'http://127.0.0.1:9/'
const PROVIDER = 'devsys'

/** Builds the non-interactive invocation of `agent` for one run. */
export function buildLaunch(agent: AgentName, input: PresetInput): AgentLaunch {
  return agent === 'opencode' ? opencodeLaunch(input) : codexLaunch(input)
}

function privateDirs(home: string): Record<string, string> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    npm_config_registry: DEAD_REGISTRY,
    NO_COLOR: '1',
  }
}

/**
 * `opencode run --pure --format json --auto`: one OpenAI-compatible provider (Chat Completions)
 * and nothing else, no project config, plugins, LSP downloads, sharing or updates; file edits
 * and bash allowed (the sandbox confines them), web fetches denied.
 */
function opencodeLaunch(input: PresetInput): AgentLaunch {
  const config = {
    $schema: 'https://opencode.ai/config.json',
    autoupdate: false,
    share: 'disabled',
    enabled_providers: [PROVIDER],
    provider: {
      [PROVIDER]: {
        npm: '@ai-sdk/openai-compatible',
        name: 'DevSys model endpoint',
        options: { baseURL: input.baseUrl, apiKey: DUMMY_KEY },
        models: { [input.model]: { name: input.model, tool_call: true } },
      },
    },
    permission: { edit: 'allow', bash: 'allow', webfetch: 'deny' },
  }
  return {
    argv: [
      input.program,
      'run',
      '--pure',
      '--format',
      'json',
      '--auto',
      '--dir',
      input.workspace,
      '-m',
      `${PROVIDER}/${input.model}`,
      input.prompt,
    ],
    env: {
      ...privateDirs(input.home),
      OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
      OPENCODE_DISABLE_PROJECT_CONFIG: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
      OPENCODE_DISABLE_SHARE: '1',
    },
    files: [],
  }
}

/**
 * `codex exec --json --ephemeral`: $CODEX_HOME/config.toml names one provider (Responses) whose
 * key is read from an environment variable holding the dummy key; no approvals, no analytics,
 * feedback, web search or update checks. Codex's own sandbox is off (danger-full-access):
 * DevSys's sandbox already confines it, and Codex's bubblewrap cannot nest inside it.
 */
function codexLaunch(input: PresetInput): AgentLaunch {
  const codexHome = join(input.home, '.codex')
  // TOML basic strings accept JSON's escapes.
  const q = (text: string) => JSON.stringify(text)
  const config = [
    `model = ${q(input.model)}`,
    `model_provider = ${q(PROVIDER)}`,
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    'web_search = "disabled"',
    'check_for_update_on_startup = false',
    '',
    `[model_providers.${PROVIDER}]`,
    'name = "DevSys model endpoint"',
    `base_url = ${q(input.baseUrl)}`,
    'env_key = "DEVSYS_MODEL_KEY"',
    'wire_api = "responses"',
    'request_max_retries = 1',
    'stream_max_retries = 1',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
    '',
  ].join('\n')
  return {
    argv: [
      input.program,
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--ephemeral',
      '-C',
      input.workspace,
      input.prompt,
    ],
    env: {
      ...privateDirs(input.home),
      CODEX_HOME: codexHome,
      // Not a parent of CODEX_HOME, as Codex requires.
      TMPDIR: join(input.home, 'tmp'),
      DEVSYS_MODEL_KEY: DUMMY_KEY,
    },
    files: [
      { path: '.codex/config.toml', content: config },
      { path: 'tmp/.keep', content: '' },
    ],
  }
}
