import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRunner, RUNNER_LABEL } from '../../runner/docker/create-docker-runner.js'
import { refusedCommand } from '../../runner/docker/docker-errors.js'
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

  it('reports a program the container cannot run as a shell would: 127 not found, 126 not executable', async () => {
    const notFound = await runner.run(runRequest(ws.dir, { command: ['./vendor/bin/nope', '-v'] }))
    expect(notFound).toMatchObject({ exitCode: 127, timedOut: false, report: { kind: 'missing' } })
    expect(notFound.stderr.text).toMatch(
      /^cannot start "\.\/vendor\/bin\/nope" in the test container: .*no such file or directory\n$/,
    )
    const notExecutable = await runner.run(runRequest(ws.dir, { command: ['/etc/passwd'] }))
    expect(notExecutable.exitCode).toBe(126)
    expect(notExecutable.stderr.text).toMatch(/^cannot start "\/etc\/passwd" .*permission denied/)
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

describe('docker runner: which start failures are the test command failing', () => {
  const start =
    'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process'
  const engine = (message: string, statusCode = 400) =>
    Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
      statusCode,
      json: { message },
    })

  it('reads the engine refusing to exec the program as exit 127 or 126, naming the program', () => {
    expect(
      refusedCommand(
        engine(`${start}: exec: "no-such-test-tool": executable file not found in $PATH: unknown`),
        ['no-such-test-tool', '--x'],
      ),
    ).toEqual({
      exitCode: 127,
      stderr:
        'cannot start "no-such-test-tool" in the test container: executable file not found in $PATH\n',
    })
    // Older engines word it differently around the same exec: "..." part, and answer 500.
    expect(
      refusedCommand(
        engine(
          'OCI runtime create failed: container_linux.go:380: starting container process caused: exec: "phpunit": executable file not found in $PATH: unknown',
          500,
        ),
        ['phpunit'],
      ),
    ).toMatchObject({ exitCode: 127 })
    expect(
      refusedCommand(
        engine(
          `${start}: exec: "./vendor/bin/x": stat ./vendor/bin/x: no such file or directory: unknown`,
        ),
        ['./vendor/bin/x'],
      ),
    ).toMatchObject({ exitCode: 127 })
    expect(
      refusedCommand(engine(`${start}: exec: "/etc": permission denied: unknown`), ['/etc']),
    ).toMatchObject({ exitCode: 126 })
  })

  it('leaves every other failure an infrastructure error', () => {
    // The runtime failing for another reason, the engine's own errors, a dropped connection.
    for (const error of [
      engine(
        `${start}: error during container init: error mounting "/x" to rootfs: no such file or directory: unknown`,
      ),
      engine(`${start}: exec: "php": some new reason: unknown`),
      engine('No such image: devsys/no-such-image:latest', 404),
      engine('Cannot connect to the Docker daemon', 500),
      Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), {
        code: 'ECONNREFUSED',
      }),
      new Error('exec: "php": executable file not found in $PATH'),
    ]) {
      expect(refusedCommand(error, ['php'])).toBeNull()
    }
  })
})
