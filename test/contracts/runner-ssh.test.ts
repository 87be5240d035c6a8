import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect } from 'vitest'
import { createSshRunner } from '../../runner/ssh/create-ssh-runner.js'
import { requireTool } from '../helpers/require-tool.js'
import { requireSshd, type Sshd, startSshd } from '../helpers/services.js'
import { runnerContract } from './runner.contract.js'

const hasSshd = await requireSshd('the SSH runner is tested against a real OpenSSH server')
const hasPhpUnit = requireTool(
  'phpunit',
  'the generated blog is tested with its PHPUnit suite on the SSH host',
)

describe.skipIf(!hasSshd)('ssh runner against a real sshd on loopback: the Runner contract', () => {
  let dir: string
  let remoteDir: string
  let sshd: Sshd
  runnerContract({
    kind: 'remote-ssh',
    setUp: async () => {
      dir = await mkdtemp(join(tmpdir(), 'devsys-sshd-'))
      remoteDir = join(dir, 'remote')
      await mkdir(remoteDir)
      sshd = await startSshd(dir)
    },
    tearDown: async () => {
      await sshd?.stop()
      await rm(dir, { recursive: true, force: true })
    },
    runner: () =>
      createSshRunner({
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKeyPath: sshd.privateKeyPath,
        knownHostsPath: sshd.knownHostsPath,
        remoteDir,
        killGraceMs: 300,
        log: pino({ level: 'silent' }),
      }),
    leftNothingBehind: async () => {
      // Every run removes its remote directory.
      expect(await readdir(remoteDir)).toEqual([])
    },
    hasPhpUnit,
    envNames: ['APP_ENV', 'HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR'],
    get home() {
      return new RegExp(`^${remoteDir}/devsys-run\\.`)
    },
    // sshd runs on this machine, so the command's processes can be looked for here.
    hostPids: true,
    timeLimit: { timeoutMs: 1000, returnsWithinMs: 10_000 },
    abortAfterMs: 1000,
    bigOutput: { bytes: 1_000_000_000, testTimeoutMs: 60_000 },
  })
})
