import { randomBytes } from 'node:crypto'

// A long-lived shell on a deploy host or in a container, for the host-side work that needs one:
// started once per connection (ssh) or container (php), then given requests one at a time, so
// a deploy or a rollback starts no new shell. Its script is fixed text; arguments arrive as
// lines of data and are only ever expanded as "$1", "$2"…, never read as script.

/** What one request to the helper printed, and how it ended. */
export interface HelperResult {
  code: number
  stdout: string
  stderr: string
}

/** A request: one of the helper's verbs, and its arguments (no line breaks or NULs). */
export interface HelperRequest {
  verb: string
  args: string[]
}

export interface ShellHelper {
  run(request: HelperRequest, signal?: AbortSignal): Promise<HelperResult>
  /** Whether the helper has stopped (connection dropped, container restarted): start a new one. */
  readonly closed: boolean
  close(): void
}

/** The two ends of a started helper process: its stdin, its stdout, and its end. */
export interface HelperIo {
  write(text: string): void
  close(): void
  onData(listener: (chunk: Buffer) => void): void
  onClose(listener: () => void): void
  /**
   * Told whether a request is under way: an idle helper should not keep the process alive
   * (a socket of its own is unref'd in between).
   */
  busy?(working: boolean): void
}

/** The random markers that frame a helper's answers (hex: never in a path it prints). */
export interface HelperMarkers {
  ready: string
  end: string
}

export function helperMarkers(): HelperMarkers {
  const nonce = randomBytes(8).toString('hex')
  return { ready: `--devsys-ready-${nonce}--`, end: `--devsys-end-${nonce}--` }
}

/**
 * The helper's script: fixed text, each verb's body run in a subshell with the request's
 * arguments as "$@". It reads a request as a line `<verb> <count>` and `count` lines of
 * arguments, and answers with the body's output, a line `<end> <exit code> <stderr bytes>` and
 * the stderr. `prelude` is fixed text too (variables the bodies use).
 */
export function helperScript(
  verbs: Readonly<Record<string, string>>,
  markers: HelperMarkers,
  prelude = '',
): string {
  const cases = Object.entries(verbs).map(([verb, body]) => {
    if (!/^[a-z][a-z-]*$/.test(verb)) throw new Error(`not a helper verb: ${verb}`)
    return `    ${verb}) (\n${body}\n    ) ;;`
  })
  return [
    ...(prelude === '' ? [] : [prelude]),
    `end=${markers.end}`,
    'err=$(mktemp) || exit 1',
    'trap \'rm -f "$err"\' EXIT',
    `echo ${markers.ready}`,
    "while IFS=' ' read -r verb n; do",
    '  set --',
    '  while [ "$n" -gt 0 ]; do IFS= read -r a || exit 1; set -- "$@" "$a"; n=$((n - 1)); done',
    '  case $verb in',
    ...cases,
    '    *) echo "unknown request $verb" >&2; false ;;',
    '  esac 2>"$err" </dev/null',
    '  code=$?',
    '  printf \'\\n%s %d %d\\n\' "$end" "$code" "$(wc -c < "$err")"',
    '  cat "$err"',
    'done',
  ].join('\n')
}

/** Talks to a started helper: one request at a time, each answer read up to its trailer. */
export function wrapHelper(io: HelperIo, markers: HelperMarkers): ShellHelper {
  let buffer = Buffer.alloc(0)
  /** False until the ready line: a login shell's rc files may print before it. */
  let started = false
  let closed = false
  let waiting: { resolve: (r: HelperResult) => void; reject: (e: Error) => void } | undefined
  let queue: Promise<unknown> = Promise.resolve()
  const readyLine = Buffer.from(`${markers.ready}\n`)
  const trailerStart = Buffer.from(`\n${markers.end} `)

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
  io.onData((chunk) => {
    buffer = Buffer.concat([buffer, chunk])
    answer()
  })
  io.onClose(() => {
    closed = true
    waiting?.reject(new Error('the helper stopped while the host was working (connection lost)'))
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
        io.close()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      io.busy?.(true)
      waiting = {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort)
          io.busy?.(false)
          resolve(r)
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort)
          io.busy?.(false)
          reject(signal?.aborted ? signal.reason : e)
        },
      }
      io.write(
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
      io.close()
    },
  }
}
