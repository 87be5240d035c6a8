import Dockerode from 'dockerode'
import { describe } from 'vitest'
import { createPhpTarget, PHP_DEPLOY_BASE } from '../../src/deploy/targets/php-target.js'
import { requirePhpApacheImage, startPhpApache } from '../deploy/php-apache-container.js'
import { fetchWhenUp } from '../deploy/release-fixtures.js'
import { deployTargetContract } from './deploy-target.contract.js'
import { containerFiles } from './target-files.js'

const hasDocker = await requirePhpApacheImage(
  'the php deploy target is tested against a real Apache + PHP container',
)

describe.skipIf(!hasDocker)(
  'php deploy target against a real Apache + PHP container: the DeployTarget contract',
  () => {
    const docker = new Dockerode()
    let sites = 0
    deployTargetContract({
      kind: 'php',
      fresh: async (shared) => {
        // A container of its own per scenario, serving one site, as DevSys deploys them.
        const site = `contract/php-target/site-${++sites}`
        const php = await startPhpApache(docker, undefined, true, site)
        const root = `${PHP_DEPLOY_BASE}/${site}`
        return {
          target: createPhpTarget({
            container: php.name,
            docker,
            root,
            site,
            shared,
            url: php.url,
          }),
          files: containerFiles(docker, php.container, root),
          url: php.url,
          page: (path: string) => fetchWhenUp(`${php.url}${path}`, 15_000),
          dispose: () => php.remove(),
        }
      },
      smallDisk: async () => {
        // releases/ on a volume of 1 MiB (tmpfs), in the image's own site root.
        const php = await startPhpApache(docker, '1m')
        return {
          target: createPhpTarget({ container: php.name, docker }),
          files: containerFiles(docker, php.container, PHP_DEPLOY_BASE),
          url: null,
          page: (path: string) => fetchWhenUp(`${php.url}${path}`, 15_000),
          dispose: () => php.remove(),
        }
      },
      noSpaceMessage: /prune releases or grow the volume/,
      // The partial copy is removed by the next upload.
      removesPartialAtOnce: false,
      serves: true,
      // The release is copied in whole (one archive through the engine; nothing to save).
      reusesFiles: false,
      countsFileBytes: false,
    })
  },
)
