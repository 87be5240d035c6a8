import { randomUUID } from 'node:crypto'
import Dockerode from 'dockerode'
import { OutputTail } from '../output-tail.js'
import { checkReportPath } from '../report-path.js'
import { type Runner, RunnerError, type RunRequest, type RunResult } from '../types.js'
import { listWorkspace } from '../workspace-files.js'
import { extractSingleFile, packWorkspace } from './archive.js'
import { checkEngine, dockerFailure, refusedCommand } from './docker-errors.js'
import { resolveUser } from './resolve-user.js'

export interface DockerRunnerOptions {
  /** The image with the test tools, like devsys/php-runner:latest (build-images.sh). */
  image: string
  /** The engine; default one from DOCKER_HOST, else /var/run/docker.sock. */
  docker?: Dockerode
  /** Docker network of the container; default `none` (loopback only). */
  network?: 'none' | string
  /** Memory limit (no swap beyond it); default 1 GiB. */
  memoryBytes?: number
  /** CPU limit in billionths of a CPU; default 1 CPU. */
  nanoCpus?: number
  /** Most processes in the container; default 256 (a fork bomb stops there). */
  pidsLimit?: number
  /** User to run as; default the image's USER (devsys/php-runner has `runner`). */
  user?: string
}

/** Every container this runner makes carries this label, so leftovers can be found. */
export const RUNNER_LABEL = 'org.devsys.runner'
/** The workspace is copied to /work/ws, on a volume: the rest of the root is read-only. */
const WORK_ROOT = '/work'
const WORK_DIR = `${WORK_ROOT}/ws`

/**
 * A runner that runs the test command in a fresh container of the configured image: no
 * network, limited memory, CPU and processes, read-only root with a writable work folder, no
 * capabilities. The workspace goes in as a tar archive and the report comes out as one; the
 * container is removed whatever happens (timeout, abort, errors).
 */
export function createDockerRunner(opts: DockerRunnerOptions): Runner {
  const docker = opts.docker ?? new Dockerode()
  return {
    kind: 'docker',
    async run(request: RunRequest): Promise<RunResult> {
      const reportPath = checkReportPath(request.junitPath)
      if (request.signal.aborted) throw aborted()
      const started = Date.now()
      // 1. The engine answers and has the image.
      const user = await checkEngine(docker, opts.image, opts.user)
      const listing = await listWorkspace(request.workspace)
      if (listing.skipped.length > 0) {
        request.log.warn({ skipped: listing.skipped }, 'not copied: links out or special files')
      }

      // 2. Create the container; from here on it is always removed.
      const runId = randomUUID()
      const container = await docker
        .createContainer({
          Image: opts.image,
          Cmd: request.command,
          // The command is the whole argv: an ENTRYPOINT of the image must not wrap it.
          Entrypoint: [''],
          User: user,
          WorkingDir: WORK_DIR,
          Env: toEnvList({ HOME: '/tmp', TMPDIR: '/tmp', LANG: 'C.UTF-8', ...request.env }),
          Labels: { [RUNNER_LABEL]: 'true', 'org.devsys.run': runId },
          Volumes: { [WORK_ROOT]: {} },
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          HostConfig: {
            NetworkMode: opts.network ?? 'none',
            Memory: opts.memoryBytes ?? 1024 ** 3,
            MemorySwap: opts.memoryBytes ?? 1024 ** 3,
            NanoCpus: opts.nanoCpus ?? 1e9,
            PidsLimit: opts.pidsLimit ?? 256,
            ReadonlyRootfs: true,
            Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=256m,mode=1777' },
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            // Output is read through attach; the daemon keeps no log file a test could fill.
            LogConfig: { Type: 'none', Config: {} },
          },
        })
        .catch((error: unknown) => {
          throw dockerFailure(error, docker, opts.image, 'create the test container')
        })
      const stdout = new OutputTail(request.maxOutputBytes)
      const stderr = new OutputTail(request.maxOutputBytes)
      let timer: NodeJS.Timeout | undefined
      let onAbort: (() => void) | undefined
      try {
        // 3. Copy the workspace in, owned by the user the tests run as.
        const owner = await resolveUser(container, user)
        await container
          .putArchive(packWorkspace(request.workspace, listing.entries, 'ws', owner), {
            path: WORK_ROOT,
          })
          .catch((error: unknown) => {
            throw new RunnerError(
              'upload-failed',
              'docker',
              `Could not copy the workspace into the container: ${message(error)}`,
            )
          })

        if (request.signal.aborted) throw aborted()

        // 4. Attach before start so no output is missed, then start and wait with a limit.
        const stream = await container
          .attach({ stream: true, stdout: true, stderr: true })
          .catch((error: unknown) => {
            throw dockerFailure(error, docker, opts.image, 'attach to the test container')
          })
        const ended = new Promise<void>((resolve) => {
          stream.once('end', resolve)
          stream.once('close', resolve)
          stream.once('error', () => resolve())
        })
        docker.modem.demuxStream(stream, stdout.writable(), stderr.writable())
        request.log.info(
          { runner: 'docker', image: opts.image, command: request.command },
          'running tests',
        )
        const refused = await container.start().then(
          () => null,
          (error: unknown) => {
            // A command that is not there: the engine refuses to start it, a shell would say 127.
            const asShell = refusedCommand(error, request.command)
            if (asShell === null)
              throw dockerFailure(error, docker, opts.image, 'start the test container')
            return asShell
          },
        )
        let timedOut = false
        let wasAborted = false
        let exitCode: number | null
        if (refused !== null) {
          stderr.push(Buffer.from(refused.stderr))
          exitCode = refused.exitCode
        } else {
          const kill = (): void => {
            container.kill({ signal: 'SIGKILL' }).catch(() => undefined)
          }
          timer = setTimeout(() => {
            timedOut = true
            kill()
          }, request.timeoutMs)
          onAbort = () => {
            wasAborted = true
            kill()
          }
          request.signal.addEventListener('abort', onAbort, { once: true })
          const exit = (await container.wait().catch((error: unknown) => {
            throw dockerFailure(error, docker, opts.image, 'wait for the test container')
          })) as { StatusCode?: number }
          clearTimeout(timer)
          // Output already written may still be in flight; do not wait long for it.
          await Promise.race([ended, delay(2000)])
          exitCode = timedOut ? null : (exit.StatusCode ?? null)
        }
        ;(stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.()
        if (wasAborted) throw aborted()

        // 5. Copy the report out (a missing path answers 404).
        const report = await container
          .getArchive({ path: `${WORK_DIR}/${reportPath}` })
          .then((archive) => extractSingleFile(archive, request.maxReportBytes))
          .catch((error: unknown) => {
            if ((error as { statusCode?: number }).statusCode === 404) {
              return { kind: 'missing' } as const
            }
            throw dockerFailure(error, docker, opts.image, 'copy the report out of the container')
          })
        return {
          runner: 'docker',
          exitCode,
          timedOut,
          durationMs: Date.now() - started,
          workdir: WORK_DIR,
          stdout: stdout.result(),
          stderr: stderr.result(),
          report,
        }
      } finally {
        clearTimeout(timer)
        if (onAbort !== undefined) request.signal.removeEventListener('abort', onAbort)
        // 6. Always remove the container and its work volume.
        await container.remove({ force: true, v: true }).catch((error: unknown) => {
          request.log.error(
            { err: error, container: container.id },
            'could not remove the test container',
          )
        })
      }
    },
  }
}

function aborted(): RunnerError {
  return new RunnerError('aborted', 'docker', 'The test run was cancelled before it finished.')
}

function toEnvList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`)
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
