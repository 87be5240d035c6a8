import type { Logger } from 'pino'
import type { EnvironmentConfig } from '../../config/load-repo-config.js'
import type { TargetFactory } from '../create-target.js'
import { DeployError, type DeployTarget } from '../types.js'

/**
 * The environment's target, or the DeployError saying why it cannot be used (settings
 * missing). Deploy and rollback open it the same way; the caller closes it.
 */
export async function openTarget(
  targets: TargetFactory,
  repo: string,
  env: { name: string; config: EnvironmentConfig },
  log: Logger,
): Promise<DeployTarget | DeployError> {
  try {
    return await targets({ repo, environment: env.name, config: env.config }, log)
  } catch (error) {
    if (error instanceof DeployError) return error
    throw error
  }
}
