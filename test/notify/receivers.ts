/**
 * Real receivers on loopback for the notification channels: an HTTP server that records what it
 * is sent and answers as the test says, and an SMTP server (smtp-server) in a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface Received {
  headers: IncomingHttpHeaders
  body: string
  /** performance.now() when the body had arrived. */
  at: number
}

export interface HttpReceiver {
  url: string
  received: Received[]
  close(): Promise<void>
}

/** An HTTP server on 127.0.0.1; `answer(n)` is the status of the n-th request (0-based). */
export async function startHttpReceiver(
  answer: (n: number) => {
    status: number
    body?: string
    headers?: Record<string, string>
  } = () => ({
    status: 204,
  }),
): Promise<HttpReceiver> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const n = received.length
      received.push({
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      })
      const a = answer(n)
      res.writeHead(a.status, a.headers ?? {})
      res.end(a.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks/T000/B000/secret-token-in-path`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface SmtpMessage {
  from: string
  to: string[]
  data: string
}

export interface SmtpReceiver {
  port: number
  messages: SmtpMessage[]
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number): Promise<SmtpMessage[]>
  close(): Promise<void>
}

/** smtp-server in a child process on a free loopback port; it reports each message it accepts. */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const script = fileURLToPath(new URL('./smtp-receiver.mjs', import.meta.url))
  const child: ChildProcess = spawn(process.execPath, [script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const messages: SmtpMessage[] = []
  const waiters: Array<() => void> = []
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the SMTP receiver exited with ${code}`)))
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as { port?: number } & Partial<SmtpMessage>
      if (parsed.port !== undefined) return resolve(parsed.port)
      messages.push(parsed as SmtpMessage)
      for (const wake of waiters.splice(0)) wake()
    })
  })
  return {
    port,
    messages,
    async waitFor(n) {
      while (messages.length < n) await new Promise<void>((resolve) => waiters.push(resolve))
      return messages
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
