import { access, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect } from 'vitest'
import { createSshTarget } from '../../src/deploy/targets/ssh-target.js'
import { fetchWithPhpServer } from '../deploy/release-fixtures.js'
import { requireTool } from '../helpers/require-tool.js'
import { requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { deployTargetContract } from './deploy-target.contract.js'
import { hostFiles } from './target-files.js'

const hasSshd = await requireSshd('the ssh deploy target is tested against a real OpenSSH server')
const hasPhp = requireTool('php', 'serves the deployed blog from the release folder with php -S')
const silent = pino({ level: 'silent' })

describe.skipIf(!hasSshd || !hasPhp)(
  'ssh deploy target against a real sshd on loopback: the DeployTarget contract',
  () => {
    let dir: string
    let sshd: Sshd
    let roots = 0
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
        const target = createSshTarget({
          host: sshd.host,
          port: sshd.port,
          username: sshd.username,
          privateKeyPath: sshd.privateKeyPath,
          knownHostsPath: sshd.knownHostsPath,
          root,
          shared,
          url: 'http://deploy.example',
          log: silent,
        })
        return {
          target,
          files: hostFiles(root),
          url: 'http://deploy.example',
          page: (path: string) => fetchWithPhpServer(join(root, 'current/public'), path),
          dispose: () => target.close(),
        }
      },
      afterScenario: async () => {
        // The root was taken literally: nothing in its name ran.
        await expect(access(join(dir, 'pwned'))).rejects.toThrow()
      },
      serves: true,
      reusesFiles: true,
      countsFileBytes: false,
      knownDivergences: {
        'keeps the release that was live before current as `previous`':
          'only the local target keeps a `previous` link; activate here renames a new `current` over the old one and nothing more',
        'never prunes `previous`, the instant rollback target':
          'prune keeps `keep` newest releases plus current; the release live before current is removed like any other',
      },
    })
  },
)
