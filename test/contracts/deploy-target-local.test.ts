import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe } from 'vitest'
import { createLocalTarget } from '../../src/deploy/targets/local-target.js'
import { fetchWithPhpServer } from '../deploy/release-fixtures.js'
import { requireTool } from '../helpers/require-tool.js'
import { canMountTmpfs, mountTmpfs } from '../helpers/small-disk.js'
import { deployTargetContract } from './deploy-target.contract.js'
import { hostFiles } from './target-files.js'

const hasPhp = requireTool('php', 'serves the deployed blog from the release folder with php -S')

describe('local deploy target: the DeployTarget contract', () => {
  deployTargetContract({
    kind: 'local',
    fresh: async (shared) => {
      const dir = await mkdtemp(join(tmpdir(), 'devsys-local-'))
      const root = join(dir, 'target')
      return {
        target: createLocalTarget({ root, url: 'http://x', shared }),
        files: hostFiles(root),
        url: 'http://x',
        ...(hasPhp
          ? { page: (path: string) => fetchWithPhpServer(join(root, 'current/public'), path) }
          : {}),
        dispose: () => rm(dir, { recursive: true, force: true }),
      }
    },
    ...(canMountTmpfs
      ? {
          smallDisk: async () => {
            const dir = await mkdtemp(join(tmpdir(), 'devsys-local-'))
            const root = join(dir, 'mnt')
            await mkdir(root)
            const unmount = await mountTmpfs(root, '1m')
            return {
              target: createLocalTarget({ root }),
              files: hostFiles(root),
              url: null,
              ...(hasPhp
                ? { page: (path: string) => fetchWithPhpServer(join(root, 'current/public'), path) }
                : {}),
              dispose: async () => {
                await unmount()
                await rm(dir, { recursive: true, force: true })
              },
            }
          },
        }
      : {}),
    noSpaceMessage: /free space there \(prune old releases\) and deploy again/,
    removesPartialAtOnce: true,
    serves: hasPhp,
    reusesFiles: true,
    countsFileBytes: true,
  })
})
