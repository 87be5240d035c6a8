import type { Logger } from 'pino'
import type { AgentEnv } from '../../config/load-env.js'
import type { AgentName } from '../../config/load-repo-config.js'
import type { AgentServerSettings } from '../create-generator.js'
import { checkAgentVersion } from './agent-binaries.js'

const AGENTS: AgentName[] = ['opencode', 'codex']

/**
 * The agent generator's server settings from AGENT_*, and, when an endpoint is configured, a
 * check of both agent binaries against their pinned versions: one that is missing or differs is
 * refused (the generator says why) and logged as an error. The check runs in the background;
 * `checked` settles when it is done.
 */
export function agentServerSettings(
  env: AgentEnv,
  log: Logger,
  check: (agent: AgentName) => ReturnType<typeof checkAgentVersion> = checkAgentVersion,
): { settings: AgentServerSettings; checked: Promise<void> } {
  const settings: AgentServerSettings = {
    ...(env.baseUrl === undefined
      ? {}
      : {
          endpoint: {
            baseUrl: env.baseUrl,
            ...(env.apiKey === undefined ? {} : { apiKey: env.apiKey }),
          },
        }),
    ...(env.model === undefined ? {} : { model: env.model }),
    unavailable: {},
  }
  if (env.baseUrl === undefined) {
    log.info('coding agents are off: AGENT_BASE_URL is not set')
    return { settings, checked: Promise.resolve() }
  }
  const checked = Promise.all(
    AGENTS.map(async (agent) => {
      const result = await check(agent)
      if (result.ok) {
        log.info({ agent, version: result.version }, `${agent} ${result.version} is ready`)
      } else {
        settings.unavailable[agent] = result.message
        log.error({ agent }, `${agent} is refused: ${result.message}`)
      }
    }),
  ).then(() => undefined)
  return { settings, checked }
}
