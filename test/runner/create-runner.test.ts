import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import {
  checkRunnerEnv,
  createRunner,
  DEFAULT_RUNNER_IMAGE,
  readRunnerConfig,
} from '../../runner/create-runner.js'
import { DEFAULT_SANDBOX } from '../../runner/sandbox/sandbox-settings.js'
import { requireDocker } from '../helpers/services.js'
import { runRequest } from './blog-workspace.js'

const log = pino({ level: 'silent' })
const hasDocker = await requireDocker('auto picks docker when the engine answers')

const SSH_ENV = {
  REMOTE_SSH_HOST: 'runner.example.com',
  REMOTE_SSH_PORT: '2222',
  REMOTE_SSH_USER: 'ci',
  REMOTE_SSH_KEY_PATH: '/keys/id_ed25519',
  REMOTE_SSH_KNOWN_HOSTS: '/keys/known_hosts',
}

describe('readRunnerConfig', () => {
  it('defaults: the repo decides the kind, the PHP image on the default socket, no SSH', () => {
    expect(readRunnerConfig({ TEST_RUNNER: '', GITHUB_TOKEN: 'x' })).toEqual({
      docker: { image: DEFAULT_RUNNER_IMAGE },
      sandbox: DEFAULT_SANDBOX,
    })
    expect(DEFAULT_SANDBOX).toMatchObject({ enabled: true, network: 'loopback' })
  })

  it('reads every variable', () => {
    expect(
      readRunnerConfig({
        ...SSH_ENV,
        TEST_RUNNER: 'remote-ssh',
        DOCKER_RUNNER_IMAGE: 'my/image:1',
        DOCKER_HOST: 'tcp://127.0.0.1:2375',
        REMOTE_ALLOW_INSECURE_SSH: 'true',
        DEVSYS_UNSAFE_NO_SANDBOX: 'true',
        SANDBOX_NETWORK: 'host',
        SANDBOX_AGENT_NETWORK: 'loopback',
        SANDBOX_UID: '2000',
        SANDBOX_GID: '2001',
        SANDBOX_MEMORY_MB: '512',
        SANDBOX_MAX_PROCESSES: '64',
        SANDBOX_DISK_MB: '100',
        SANDBOX_READONLY_PATHS: '/opt/agents:/srv/tools',
      }),
    ).toEqual({
      kind: 'remote-ssh',
      docker: { image: 'my/image:1', host: 'tcp://127.0.0.1:2375' },
      sandbox: {
        enabled: false,
        network: 'host',
        agentNetwork: 'loopback',
        uid: 2000,
        gid: 2001,
        limits: {
          memoryBytes: 512 * 1024 * 1024,
          processes: 64,
          diskBytes: 100 * 1024 * 1024,
          openFiles: 4096,
        },
        readOnlyPaths: ['/opt/agents', '/srv/tools'],
      },
      ssh: {
        host: 'runner.example.com',
        port: 2222,
        username: 'ci',
        privateKeyPath: '/keys/id_ed25519',
        knownHostsPath: '/keys/known_hosts',
        allowInsecure: true,
      },
    })
  })

  it('lists every bad variable with what to set', () => {
    const checked = checkRunnerEnv({
      TEST_RUNNER: 'kubernetes',
      DOCKER_HOST: 'ssh://me@host',
      REMOTE_SSH_HOST: 'h',
      REMOTE_SSH_PORT: '99999',
      REMOTE_ALLOW_INSECURE_SSH: 'yes',
      DEVSYS_UNSAFE_NO_SANDBOX: 'yes',
      SANDBOX_NETWORK: 'internet',
      SANDBOX_DISK_MB: '0',
      SANDBOX_READONLY_PATHS: 'relative/path',
    })
    expect(checked.ok).toBe(false)
    if (checked.ok) return
    expect(checked.errors.map((e) => e.split(':')[0])).toEqual([
      'TEST_RUNNER',
      'DOCKER_HOST',
      'REMOTE_ALLOW_INSECURE_SSH',
      'DEVSYS_UNSAFE_NO_SANDBOX',
      'SANDBOX_NETWORK',
      'SANDBOX_DISK_MB',
      'SANDBOX_READONLY_PATHS',
      'REMOTE_SSH_PORT',
      'REMOTE_SSH_USER',
      'REMOTE_SSH_KEY_PATH',
    ])
    expect(() => readRunnerConfig({ TEST_RUNNER: 'remote-ssh' })).toThrow(
      /remote-ssh needs REMOTE_SSH_HOST/,
    )
  })
})

describe('createRunner', () => {
  it('auto picks remote-ssh when it is configured (without connecting yet)', async () => {
    const runner = await createRunner('auto', readRunnerConfig(SSH_ENV), log)
    expect(runner.kind).toBe('remote-ssh')
  })

  it('auto falls back to the sandboxed local runner when no Docker engine answers', async () => {
    const config = readRunnerConfig({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })
    const started = Date.now()
    const runner = await createRunner('auto', config, log)
    expect(runner.kind).toBe('local')
    expect(Date.now() - started).toBeLessThan(2000)
    // Sandboxed: the command has a pid namespace of its own (its shell is among its first pids).
    const ws = await mkdtemp(join(tmpdir(), 'devsys-auto-'))
    try {
      const result = await runner.run(runRequest(ws, { command: ['sh', '-c', 'echo $$'] }))
      expect(Number(result.stdout.text.trim())).toBeLessThan(10)
    } finally {
      await rm(ws, { recursive: true, force: true })
    }
  })

  it.skipIf(!hasDocker)('auto picks docker when the engine answers', async () => {
    expect((await createRunner('auto', readRunnerConfig({}), log)).kind).toBe('docker')
  })

  it('makes the kind asked for; docker reports an engine it cannot reach with its address', async () => {
    const config = readRunnerConfig({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })
    expect((await createRunner('local', config, log)).kind).toBe('local')
    const docker = await createRunner('docker', config, log)
    expect(docker.kind).toBe('docker')
    await expect(docker.run(runRequest('/nonexistent'))).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('unix:///nonexistent/docker.sock'),
    })
  })

  it('refuses remote-ssh without its settings', async () => {
    await expect(createRunner('remote-ssh', readRunnerConfig({}), log)).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('REMOTE_SSH_HOST'),
    })
  })
})
