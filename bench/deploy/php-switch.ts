import Dockerode from 'dockerode'
import type { Logger } from 'pino'
import { createPhpTarget, PHP_DEPLOY_BASE } from '../../src/deploy/targets/php-target.js'
import { PHP_APACHE_IMAGE, startPhpApache } from '../../test/deploy/php-apache-container.js'
import type { Site } from './site.js'

/** The php target's switches, or why they were not measured (no Docker engine or image). */
export type PhpSwitches = { ms: number[] } | { skipped: string }

/**
 * `activate` alternating between two releases on the php target (a devsys/php-apache container
 * started for it), after one unmeasured switch: what a rollback costs there, one request to the
 * container's helper shell per switch. Reported beside the ssh target's figures; it has no
 * target of its own.
 */
export async function measurePhpSwitches(
  a: Site,
  b: Site,
  switches: number,
  log: Logger,
): Promise<PhpSwitches> {
  const docker = new Dockerode()
  const problem = await docker
    .ping()
    .then(() => docker.getImage(PHP_APACHE_IMAGE).inspect())
    .then(
      () => null,
      (error: Error) => `Docker or ${PHP_APACHE_IMAGE} unavailable (${error.message})`,
    )
  if (problem !== null) return { skipped: problem }
  const site = 'bench/deploy/production'
  const php = await startPhpApache(docker, undefined, true, site)
  try {
    const target = createPhpTarget({
      container: php.name,
      docker,
      root: `${PHP_DEPLOY_BASE}/${site}`,
      site,
    })
    const signal = AbortSignal.timeout(300_000)
    for (const release of [a, b]) {
      await target.upload({ id: release.id, dir: release.dir }, { signal, log })
      await target.activate(release.id)
    }
    const ms: number[] = []
    for (let i = -1; i < switches; i++) {
      const id = i % 2 === 0 || i === -1 ? a.id : b.id
      const started = performance.now()
      await target.activate(id)
      if (i >= 0) ms.push(performance.now() - started)
      if (i === -1) {
        await target.activate(b.id)
        continue
      }
      const live = (await target.state()).current
      if (live !== id) throw new Error(`php target: current is ${live} after activating ${id}`)
    }
    await target.close()
    return { ms }
  } finally {
    await php.remove()
  }
}
