import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { requireTool } from './require-tool.js'

/**
 * Whether redis-server is installed for tests that need a real Redis. In CI (CI=true) a missing
 * binary is an error; elsewhere the caller skips and the reason is printed.
 * Use as `describe.skipIf(!requireRedis('shares rate limits'))(...)`.
 */
export function requireRedis(why: string): boolean {
  return requireTool('redis-server', why)
}

/** A redis-server of this test file's own, on a free loopback port, keeping nothing on disk. */
export interface TestRedis {
  port: number
  url: string
  /** A client for inspecting what is stored (closed by `stop`). */
  client(): Redis
  /** Kills the server (SIGKILL, as a crash would), keeping the port for `start`. */
  kill(): Promise<void>
  /** Stops the server without closing its connections (SIGSTOP), as a hung host would; `thaw` resumes it. */
  freeze(): void
  thaw(): void
  /** Starts the server again on the same port, empty (nothing when it runs). */
  start(): Promise<void>
  stop(): Promise<void>
}

/** Starts redis-server on a free port and waits until it answers. */
export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let server: ChildProcess | undefined
  const clients: Redis[] = []
  const start = async (): Promise<void> => {
    if (server) return
    const child = spawn(
      'redis-server',
      ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start on ${port}:\n${output}`)),
        10_000,
      )
      child.stdout?.on('data', () => {
        if (!output.includes('Ready to accept connections')) return
        clearTimeout(timer)
        server = child
        resolve()
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code}:\n${output}`))
      })
    })
  }
  const kill = async (): Promise<void> => {
    const child = server
    server = undefined
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    port,
    url,
    client() {
      const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
      client.on('error', () => {})
      clients.push(client)
      return client
    },
    kill,
    freeze: () => server?.kill('SIGSTOP'),
    thaw: () => server?.kill('SIGCONT'),
    start,
    async stop() {
      server?.kill('SIGCONT')
      for (const client of clients.splice(0)) client.disconnect()
      await kill()
    },
  }
}

/** A loopback port nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}
