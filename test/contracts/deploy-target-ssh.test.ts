import { access, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect } from 'vitest'
import { createSshTarget } from '../../src/deploy/targets/ssh-target.js'
import { fetchWithPhpServer } from '../deploy/release-fixtures.js'
import { requireTool } from '../helpers/require-tool.js'
import { requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { canMountTmpfs, mountTmpfs } from '../helpers/small-disk.js'
import { deployTargetContract } from './deploy-target.contract.js'
import type { FreshTarget } from './deploy-target-context.js'
import { hostFiles } from './target-files.js'

const hasSshd = await requireSshd('the ssh deploy target is tested against a real OpenSSH server')
const hasPhp = requireTool('php', 'serves the deployed blog from the release folder with php -S')
const silent = pino({ level: 'silent' })
// The full-disk scenario mounts a tmpfs as the deploy root: CI runs as root, so it must work there.
if (!canMountTmpfs) {
  if (process.env.CI === 'true') throw new Error('cannot mount a tmpfs for the full-disk scenario')
  process.stderr.write('skipping the full-disk scenario: cannot mount a tmpfs (not root?)\n')
}
const URL = 'http://deploy.example'

describe.skipIf(!hasSshd || !hasPhp)(
  'ssh deploy target against a real sshd on loopback: the DeployTarget contract',
  () => {
    let dir: string
    let sshd: Sshd
    let roots = 0
    const sshTarget = (
      root: string,
      shared: string[],
      cleanUp: () => Promise<void>,
    ): FreshTarget => {
      const target = createSshTarget({
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKeyPath: sshd.privateKeyPath,
        knownHostsPath: sshd.knownHostsPath,
        root,
        shared,
        url: URL,
        log: silent,
      })
      return {
        target,
        files: hostFiles(root),
        url: URL,
        page: (path: string) => fetchWithPhpServer(join(root, 'current/public'), path),
        dispose: async () => {
          await target.close()
          await cleanUp()
        },
      }
    }
    deployTargetContract({
      kind: 'ssh',
      setUp: async () => {
        dir = await mkdtemp(join(tmpdir(), 'devsys-ssh-deploy-'))
        await mkdir(join(dir, 'sshd'))
        sshd = await startSshd(join(dir, 'sshd'))
      },
      tearDown: async () => {
        await sshd?.stop()
        await rm(dir, { recursive: true, force: true })
      },
      fresh: async (shared) => {
        // Spaces, quotes and a command substitution in the root must arrive as those bytes.
        const root = join(dir, `deploy root ${++roots} $(touch ${join(dir, 'pwned')}) \`id\` 'q'`)
        return sshTarget(root, shared, async () => undefined)
      },
      ...(canMountTmpfs
        ? {
            smallDisk: async () => {
              const root = join(dir, `small disk ${++roots}`)
              await mkdir(root)
              return sshTarget(root, [], await mountTmpfs(root, '1m'))
            },
          }
        : {}),
      noSpaceMessage: /ran out of disk space/,
      // As after a cut connection: the next upload removes the half-written temp folder.
      removesPartialAtOnce: false,
      afterScenario: async () => {
        // The root was taken literally: nothing in its name ran.
        await expect(access(join(dir, 'pwned'))).rejects.toThrow()
      },
      serves: true,
      reusesFiles: true,
      countsFileBytes: false,
    })
  },
)
