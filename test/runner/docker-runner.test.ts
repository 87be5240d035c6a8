import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDockerRunner, RUNNER_LABEL } from '../../runner/docker/create-docker-runner.js'
import type { TestWorkspace } from '../generate/workspace.js'
import { requireDocker } from '../helpers/services.js'
import { createBlogWorkspace, runRequest, testCount } from './blog-workspace.js'

const IMAGE = 'devsys/php-runner:latest'
const hasDocker = await requireDocker('the docker runner is tested against a real engine', IMAGE)
const docker = new Dockerode()

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

  it("runs the generated blog's PHPUnit suite in a container and copies the report out", async () => {
    const result = await runner.run(runRequest(ws.dir))
    expect(result).toMatchObject({ runner: 'docker', exitCode: 0, timedOut: false })
    expect(result.stdout.text).toMatch(/OK \(\d+ tests/)
    expect(result.report.kind).toBe('found')
    if (result.report.kind === 'found') expect(testCount(result.report.xml)).toBeGreaterThan(0)
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

  it('reports the folder the command ran in as workdir, for report paths', async () => {
    const result = await runner.run(runRequest(ws.dir, { command: ['sh', '-c', 'pwd -P'] }))
    expect(result.workdir).toMatch(/^\//)
    expect(result.stdout.text.trim()).toBe(result.workdir)
  })

  it('passes argv to the program as it is: no shell sees $(…) or ;', async () => {
    const argv = ['$(touch /tmp/pwned)', '; rm -rf /work', "it's", '`id`', '*', 'a\nb', '"$HOME"']
    const result = await runner.run(
      runRequest(ws.dir, { command: ['sh', '-c', 'printf "<%s>" "$@"; ls /tmp', 'sh', ...argv] }),
    )
    expect(result.stdout.text).toBe(argv.map((a) => `<${a}>`).join(''))
  })

  it('kills a command that hangs at the time limit and removes the container', async () => {
    const started = Date.now()
    const result = await runner.run(
      runRequest(ws.dir, { command: ['sleep', '600'], timeoutMs: 1000 }),
    )
    expect(result).toMatchObject({ timedOut: true, exitCode: null, report: { kind: 'missing' } })
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('keeps only the tail of gigabytes of output', async () => {
    const total = 2_000_000_000
    const result = await runner.run(
      runRequest(ws.dir, {
        command: ['sh', '-c', `yes | head -c ${total}`],
        maxOutputBytes: 10_000,
      }),
    )
    expect(result.exitCode).toBe(0)
    expect(result.stdout.text).toBe('y\n'.repeat(5000))
    expect(result.stdout.droppedBytes).toBe(total - 10_000)
  }, 120_000)

  it('reports a container that exits before writing the report as a missing report', async () => {
    const result = await runner.run(
      runRequest(ws.dir, { command: ['sh', '-c', 'echo failing >&2; exit 3'] }),
    )
    expect(result).toMatchObject({ exitCode: 3, timedOut: false, report: { kind: 'missing' } })
    expect(result.stderr.text).toBe('failing\n')
  })

  it('refuses a report that is a link, and reports a big one as too large', async () => {
    const linked = await runner.run(
      runRequest(ws.dir, {
        command: ['sh', '-c', 'mkdir -p build && ln -s /etc/passwd build/junit.xml'],
      }),
    )
    expect(linked.report).toEqual({ kind: 'missing' })
    const big = await runner.run(
      runRequest(ws.dir, {
        command: ['sh', '-c', 'mkdir -p build && head -c 5000 /dev/zero > build/junit.xml'],
        maxReportBytes: 4096,
      }),
    )
    expect(big.report).toEqual({ kind: 'too-large', bytes: 5000 })
  })

  it('removes the container when the run is aborted', async () => {
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 1000)
    await expect(
      runner.run(runRequest(ws.dir, { command: ['sleep', '600'], signal: abort.signal })),
    ).rejects.toMatchObject({ code: 'aborted', runner: 'docker' })
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
