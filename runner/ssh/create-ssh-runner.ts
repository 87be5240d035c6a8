import type { Logger } from 'pino'
import type { Client } from 'ssh2'
import { OutputTail } from '../output-tail.js'
import { checkReportPath } from '../report-path.js'
import { type Runner, RunnerError, type RunRequest, type RunResult } from '../types.js'
import { listWorkspace } from '../workspace-files.js'
import { connectSsh, type SshLogin, type SshSettingNames } from './connect.js'
import { downloadReport, execFixed, openSftp, uploadEntries } from './remote-files.js'
import { buildKillCommand, buildRunCommand, checkEnvNames, quote } from './shell-quote.js'

/** REMOTE_SSH_HOST, _PORT, _USER, _KEY_PATH, _KNOWN_HOSTS and REMOTE_ALLOW_INSECURE_SSH, plus: */
export interface SshRunnerOptions extends SshLogin {
  /** Remote folder for run directories; default /tmp. */
  remoteDir?: string
  /** How long connecting may take; default 10 s. */
  readyTimeoutMs?: number
  /** Time between SIGTERM and SIGKILL to the remote process group; default 5 s. */
  killGraceMs?: number
  log: Logger
}

/** The runner's settings, as connection errors name them (environment variables). */
const SETTINGS: SshSettingNames = {
  host: 'SSH runner host',
  address: 'REMOTE_SSH_HOST / REMOTE_SSH_PORT',
  user: 'REMOTE_SSH_USER',
  keyPath: 'REMOTE_SSH_KEY_PATH',
  knownHosts: 'REMOTE_SSH_KNOWN_HOSTS',
  allowInsecure: 'REMOTE_ALLOW_INSECURE_SSH',
}

/**
 * A runner that runs the test command on another host over SSH: the host key is checked
 * against known_hosts, the workspace is uploaded over SFTP into a fresh `mktemp -d` folder,
 * the command runs there with an environment built from scratch and a time limit (its process
 * group is killed), the report comes back over SFTP, and the folder is always removed.
 * The only shell lines sent are the fixed ones of shell-quote.ts, with every path and every
 * argument of the test command single-quoted.
 */
export function createSshRunner(opts: SshRunnerOptions): Runner {
  const port = opts.port ?? 22
  const remoteDir = (opts.remoteDir ?? '/tmp').replace(/\/+$/, '') || '/'
  const killGraceMs = opts.killGraceMs ?? 5000
  return {
    kind: 'remote-ssh',
    async run(request: RunRequest): Promise<RunResult> {
      const reportPath = checkReportPath(request.junitPath)
      // Bad variable names are a caller's bug: refuse them before connecting.
      checkEnvNames(request.env ?? {})
      if (request.signal.aborted) throw aborted()
      const started = Date.now()
      const listing = await listWorkspace(request.workspace)
      if (listing.skipped.length > 0) {
        request.log.warn({ skipped: listing.skipped }, 'not uploaded: links out or special files')
      }
      // 1. Connect (host key checked) and make the remote run directory.
      const client = await connectSsh({
        host: opts.host,
        port,
        username: opts.username,
        privateKeyPath: opts.privateKeyPath,
        ...(opts.knownHostsPath === undefined ? {} : { knownHostsPath: opts.knownHostsPath }),
        allowInsecure: opts.allowInsecure ?? false,
        readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
        settings: SETTINGS,
        log: opts.log,
      })
      let runDir: string | undefined
      try {
        runDir = await makeRunDir(client, remoteDir)
        const work = `${runDir}/work`
        const sftp = await openSftp(client)
        try {
          // 2. Upload the workspace.
          try {
            for (const dir of [work, `${runDir}/home`, `${runDir}/tmp`]) {
              await new Promise<void>((resolve, reject) =>
                sftp.mkdir(dir, { mode: 0o700 }, (error) => (error ? reject(error) : resolve())),
              )
            }
            await uploadEntries(sftp, request.workspace, listing.entries, work)
          } catch (error) {
            throw new RunnerError(
              'upload-failed',
              'remote-ssh',
              `Could not upload the workspace to ${opts.host}:${runDir} over SFTP: ${(error as Error).message}`,
            )
          }
          if (request.signal.aborted) throw aborted()

          // 3. Run the command with a time limit.
          const env = {
            HOME: `${runDir}/home`,
            TMPDIR: `${runDir}/tmp`,
            LANG: 'C.UTF-8',
            ...request.env,
          }
          const command = buildRunCommand(
            request.command,
            { pidFile: `${runDir}/pid`, workDir: work },
            env,
          )
          request.log.info(
            { runner: 'remote-ssh', host: opts.host, command: request.command },
            'running tests',
          )
          const run = await runRemote(client, command, `${runDir}/pid`, request, killGraceMs)
          if (run.aborted) throw aborted()

          // 4. Download the report.
          const report = await downloadReport(sftp, work, reportPath, request.maxReportBytes)
          return {
            runner: 'remote-ssh',
            exitCode: run.timedOut ? null : run.exitCode,
            timedOut: run.timedOut,
            durationMs: Date.now() - started,
            workdir: work,
            stdout: run.stdout.result(),
            stderr: run.stderr.result(),
            report,
          }
        } finally {
          sftp.end()
        }
      } catch (error) {
        throw lostConnection(error, opts.host)
      } finally {
        // 5. Always remove the remote directory and close the connection.
        if (runDir !== undefined) await removeRunDir(client, runDir, request.log)
        client.end()
      }
    },
  }
}

/** A failure that is not already explained: the connection or the host went away. */
function lostConnection(error: unknown, host: string): unknown {
  if (error instanceof RunnerError) return error
  return new RunnerError(
    'unavailable',
    'remote-ssh',
    `The SSH runner host ${host} failed during the run (${(error as Error).message}): check the host and run the tests again.`,
  )
}

function aborted(): RunnerError {
  return new RunnerError('aborted', 'remote-ssh', 'The test run was cancelled before it finished.')
}

/** `mktemp -d` under remoteDir; checks the answer looks like the folder asked for. */
async function makeRunDir(client: Client, remoteDir: string): Promise<string> {
  const prefix = `${remoteDir === '/' ? '' : remoteDir}/devsys-run.`
  const made = await execFixed(client, `mktemp -d ${quote(`${prefix}XXXXXXXXXX`)}`)
  const dir = made.stdout.trim()
  if (made.code !== 0 || !dir.startsWith(prefix) || !/^[A-Za-z0-9._/-]+$/.test(dir)) {
    throw new RunnerError(
      'unavailable',
      'remote-ssh',
      `Could not make a run directory in ${remoteDir} on the SSH runner host (${made.stderr.trim() || `exit ${made.code}`}): check that it exists and is writable, or set remoteDir.`,
    )
  }
  return dir
}

async function removeRunDir(client: Client, runDir: string, log: Logger): Promise<void> {
  try {
    // Kill first, so nothing left running keeps writing into the folder being removed.
    await execFixed(client, buildKillCommand(`${runDir}/pid`, 'KILL'))
    const removed = await execFixed(client, `rm -rf -- ${quote(runDir)}`)
    if (removed.code !== 0) throw new Error(removed.stderr.trim() || `exit ${removed.code}`)
  } catch (error) {
    log.error({ err: error, runDir }, 'could not remove the remote run directory')
  }
}

interface RemoteRun {
  exitCode: number | null
  timedOut: boolean
  aborted: boolean
  stdout: OutputTail
  stderr: OutputTail
}

/**
 * Runs the test command and waits for it. On timeout or abort its process group gets TERM, then
 * KILL after the grace; after a normal exit the group is ended too, because a background
 * process (php -S) holding the output open would keep the channel from closing.
 */
function runRemote(
  client: Client,
  command: string,
  pidFile: string,
  request: RunRequest,
  killGraceMs: number,
): Promise<RemoteRun> {
  const result: RemoteRun = {
    exitCode: null,
    timedOut: false,
    aborted: false,
    stdout: new OutputTail(request.maxOutputBytes),
    stderr: new OutputTail(request.maxOutputBytes),
  }
  return new Promise<RemoteRun>((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error)
        return reject(
          new RunnerError(
            'unavailable',
            'remote-ssh',
            `Could not start the test command over SSH: ${error.message}`,
          ),
        )
      let stopping: Promise<void> | undefined
      const stop = (): Promise<void> => {
        stopping ??= (async () => {
          await execFixed(client, buildKillCommand(pidFile, 'TERM')).catch(() => undefined)
          await delay(killGraceMs)
          await execFixed(client, buildKillCommand(pidFile, 'KILL')).catch(() => undefined)
        })()
        return stopping
      }
      const timer = setTimeout(() => {
        result.timedOut = true
        void stop()
      }, request.timeoutMs)
      const onAbort = (): void => {
        result.aborted = true
        void stop()
      }
      request.signal.addEventListener('abort', onAbort, { once: true })
      channel.on('data', (chunk: Buffer) => result.stdout.push(chunk))
      channel.stderr.on('data', (chunk: Buffer) => result.stderr.push(chunk))
      channel.on('exit', (code: number | null) => {
        result.exitCode = typeof code === 'number' ? code : null
        clearTimeout(timer)
        // Leftovers of the group: TERM now, KILL is sent by removeRunDir.
        void execFixed(client, buildKillCommand(pidFile, 'TERM')).catch(() => undefined)
      })
      channel.on('close', () => {
        clearTimeout(timer)
        request.signal.removeEventListener('abort', onAbort)
        resolve(result)
      })
    })
  })
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
