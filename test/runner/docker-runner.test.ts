import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRunner, RUNNER_LABEL } from '../../runner/docker/create-docker-runner.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { requireDocker } from '../helpers/services.js'
import { createBlogWorkspace, runRequest } from './blog-workspace.js'

const IMAGE = 'devsys/php-runner:latest'
const hasDocker = await requireDocker('the docker runner is tested against a real engine', IMAGE)
const docker = new Dockerode()

// What every runner must do is in test/contracts/runner.contract.ts, run against this runner by
// test/contracts/runner-docker.test.ts; here is only what is the docker runner's own.

/** Containers this runner made that still exist (running or not). */
async function leftovers(): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${RUNNER_LABEL}=true`] },
  })
  return list.map((c) => c.Id)
}

describe.skipIf(!hasDocker)('docker runner against a real engine', () => {
  let ws: TestWorkspace
  const runner = createDockerRunner({ image: IMAGE, docker })
  beforeAll(async () => {
    ws = await createBlogWorkspace()
  }, 60_000)
  afterAll(async () => {
    await ws.cleanup()
  })
  afterEach(async () => {
    expect(await leftovers()).toEqual([])
  })

  it('runs as the image user, without network, on a read-only root with a writable work folder', async () => {
    const script = [
      'id -un',
      'ls /sys/class/net',
      'touch /etc/devsys 2>/dev/null && echo root-writable || echo root-read-only',
      'touch here && echo work-writable',
      'env | sort',
    ].join('; ')
    const result = await runner.run(
      runRequest(ws.dir, { command: ['sh', '-c', script], env: { APP_ENV: 'test' } }),
    )
    const lines = result.stdout.text.trim().split('\n')
    expect(lines.slice(0, 4)).toEqual(['runner', 'lo', 'root-read-only', 'work-writable'])
    expect(lines).toContain('APP_ENV=test')
    expect(result.stdout.text).not.toMatch(/GITHUB|TOKEN|SECRET/)
  })

  it('names a missing image and how to build it', async () => {
    const missing = createDockerRunner({ image: 'devsys/no-such-image:latest', docker })
    await expect(missing.run(runRequest(ws.dir))).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/devsys\/no-such-image:latest.*build-images\.sh/),
    })
  })
})

describe('docker runner without an engine', () => {
  it('says the engine cannot be reached, where, and what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devsys-nodocker-'))
    try {
      const socketPath = join(dir, 'docker.sock')
      const runner = createDockerRunner({ image: IMAGE, docker: new Dockerode({ socketPath }) })
      await expect(runner.run(runRequest(dir))).rejects.toMatchObject({
        name: 'RunnerError',
        code: 'unavailable',
        runner: 'docker',
        message: expect.stringContaining(
          `cannot reach the Docker engine at unix://${socketPath} (ENOENT): start dockerd or choose another runner`,
        ),
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
