import type { Readable } from 'node:stream'
import type { Client } from 'ssh2'

export interface ExecResult {
  /** The exit code; null when the channel closed without one (connection dropped, killed). */
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs one fixed command line (every path in it quoted by shell-quote.ts) and collects its
 * output, optionally feeding `input` to its stdin. A dropped connection closes the channel
 * without an exit code; an abort closes the channel at once. Output kept: `maxOutput` chars.
 */
export function execRemote(
  client: Client,
  command: string,
  opts: {
    input?: Readable | NodeJS.ReadableStream | Buffer | string
    signal?: AbortSignal
    maxOutput?: number
  } = {},
): Promise<ExecResult> {
  const max = opts.maxOutput ?? 64 * 1024
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason)
    client.exec(command, (error, channel) => {
      if (error) return reject(error)
      let stdout = ''
      let stderr = ''
      let code: number | null = null
      const onAbort = (): void => {
        channel.close()
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      channel.on('data', (chunk: Buffer) => {
        if (stdout.length < max) stdout += chunk.toString('utf8')
      })
      channel.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 8192) stderr += chunk.toString('utf8')
      })
      channel.on('exit', (exitCode: number | null) => {
        code = exitCode
      })
      channel.on('error', () => undefined)
      channel.on('close', () => {
        opts.signal?.removeEventListener('abort', onAbort)
        // A channel closed early (connection lost, aborted) leaves the input paused: destroy
        // it so its open files are released.
        const input = opts.input as { destroy?: () => void } | undefined
        if (typeof input === 'object' && !Buffer.isBuffer(input)) input.destroy?.()
        if (opts.signal?.aborted) reject(opts.signal.reason)
        else resolve({ code, stdout, stderr })
      })
      const input = opts.input
      if (input === undefined) channel.end()
      else if (typeof input === 'string' || Buffer.isBuffer(input)) channel.end(input)
      else {
        // A failing input (a local file vanished) must not leave the remote side waiting.
        input.on('error', () => channel.close())
        input.pipe(channel)
      }
    })
  })
}
