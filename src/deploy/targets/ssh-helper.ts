import { randomBytes } from 'node:crypto'
import type { Client, ClientChannel } from 'ssh2'
import { RELEASE_MARKER } from './release-plan.js'
import { SEPARATOR } from './ssh-commands.js'

/** What one request to the helper printed, and how it ended. */
export interface HelperResult {
  code: number
  stdout: string
  stderr: string
}

/** The requests the helper knows; each takes its arguments as lines of data, never as script. */
export type HelperRequest =
  /** $1 root: `current`, `previous`, a separator, then the complete releases' markers, newest first. */
  | { verb: 'state'; args: [root: string] }
  /** $1 releases folder, then ids: each marker first, so a half-removed release is never complete. */
  | { verb: 'remove'; args: [releases: string, ...ids: string[]] }
  /** $1 a release folder: `docker compose up -d --build` there (EXTERNAL_DEPLOY_RUN_COMPOSE). */
  | { verb: 'compose'; args: [release: string] }

/**
 * One long-lived shell per kept connection, for the host-side work SFTP cannot do (list
 * releases by age, remove folders, start compose): started once, so a deploy or a rollback on
 * a kept connection starts no login shell. Requests go one at a time.
 */
export interface SshHelper {
  run(request: HelperRequest, signal?: AbortSignal): Promise<HelperResult>
  /** Whether the helper's channel has closed (the connection dropped): start a new one. */
  readonly closed: boolean
  close(): void
}

/**
 * The helper's script: fixed text (the nonce is hex made here). It reads a request as a line
 * `<verb> <count>` and `count` lines of arguments, which it only ever expands as "$1", "$2"…,
 * and answers with the command's output, a line `<end> <exit code> <stderr bytes>` and stderr.
 */
function helperScript(end: string, ready: string): string {
  return [
    `end=${end} M=${RELEASE_MARKER}`,
    'err=$(mktemp) || exit 1',
    'trap \'rm -f "$err"\' EXIT',
    `echo ${ready}`,
    "while IFS=' ' read -r verb n; do",
    '  set --',
    '  while [ "$n" -gt 0 ]; do IFS= read -r a || exit 1; set -- "$@" "$a"; n=$((n - 1)); done',
    '  case $verb in',
    `    state) (cd -- "$1" 2>/dev/null || exit 0; printf '%s\\n%s\\n${SEPARATOR}\\n' "$(readlink current 2>/dev/null)" "$(readlink previous 2>/dev/null)"; ls -1t -- releases/*/"$M" 2>/dev/null; exit 0) ;;`,
    '    remove) (cd -- "$1" && shift && for id do rm -f -- "$id/$M" && rm -rf -- "$id" || exit 1; done) ;;',
    '    compose) (cd -- "$1" && docker compose up -d --build 2>&1) ;;',
    '    *) echo "unknown request $verb" >&2; false ;;',
    '  esac 2>"$err" </dev/null',
    '  code=$?',
    '  printf \'\\n%s %d %d\\n\' "$end" "$code" "$(wc -c < "$err")"',
    '  cat "$err"',
    'done',
  ].join('\n')
}

/** Starts the helper on a connection: one exec channel, kept until the connection ends. */
export function startHelper(client: Client): Promise<SshHelper> {
  const nonce = randomBytes(8).toString('hex')
  const end = `--devsys-end-${nonce}--`
  const ready = `--devsys-ready-${nonce}--`
  return new Promise((resolve, reject) => {
    client.exec(helperScript(end, ready), (error, channel) => {
      if (error) return reject(error)
      resolve(wrap(channel, end, ready))
    })
  })
}

function wrap(channel: ClientChannel, end: string, ready: string): SshHelper {
  let buffer = Buffer.alloc(0)
  /** False until the ready line: a login shell's rc files may print before it. */
  let started = false
  let closed = false
  let waiting: { resolve: (r: HelperResult) => void; reject: (e: Error) => void } | undefined
  let queue: Promise<unknown> = Promise.resolve()
  const readyLine = Buffer.from(`${ready}\n`)
  const trailerStart = Buffer.from(`\n${end} `)

  /** Resolves the waiting request once its whole answer is in. */
  const answer = (): void => {
    if (!started) {
      const at = buffer.indexOf(readyLine)
      if (at === -1) return
      buffer = buffer.subarray(at + readyLine.length)
      started = true
    }
    if (waiting === undefined) return
    const at = buffer.indexOf(trailerStart)
    const lineEnd = at === -1 ? -1 : buffer.indexOf(10, at + trailerStart.length)
    if (lineEnd === -1) return
    const [code, bytes] = buffer
      .subarray(at + trailerStart.length, lineEnd)
      .toString('latin1')
      .trim()
      .split(/\s+/)
      .map(Number)
    if (buffer.length < lineEnd + 1 + (bytes ?? 0)) return
    const stdout = buffer.subarray(0, at).toString('utf8')
    const stderr = buffer.subarray(lineEnd + 1, lineEnd + 1 + (bytes ?? 0)).toString('utf8')
    buffer = buffer.subarray(lineEnd + 1 + (bytes ?? 0))
    const done = waiting
    waiting = undefined
    done.resolve({ code: code ?? 1, stdout, stderr })
  }
  channel.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    answer()
  })
  channel.stderr.on('data', () => undefined)
  channel.on('error', () => undefined)
  channel.on('close', () => {
    closed = true
    waiting?.reject(new Error('the connection closed while the host was working'))
    waiting = undefined
  })

  const send = (request: HelperRequest, signal?: AbortSignal): Promise<HelperResult> => {
    if (closed) return Promise.reject(new Error('the helper has stopped (connection lost)'))
    if (request.args.some((a) => /[\n\r\0]/.test(a)))
      return Promise.reject(new Error('a path for the host holds a line break or NUL'))
    signal?.throwIfAborted()
    return new Promise<HelperResult>((resolve, reject) => {
      const onAbort = (): void => {
        // The request cannot be taken back: the helper goes, the next use starts a new one.
        channel.close()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      waiting = {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(r)
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort)
          reject(signal?.aborted ? signal.reason : e)
        },
      }
      channel.write(
        `${request.verb} ${request.args.length}\n${request.args.map((a) => `${a}\n`).join('')}`,
      )
      answer()
    })
  }

  return {
    run(request, signal) {
      const result = queue.then(() => send(request, signal))
      queue = result.catch(() => undefined)
      return result
    },
    get closed() {
      return closed
    },
    close() {
      channel.close()
    },
  }
}
