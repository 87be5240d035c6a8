import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { httpRequest } from '../helpers/http.js'

/** A running `php -S 127.0.0.1:<port> -t public`. */
export interface PhpServer {
  url: string
  stop(): Promise<void>
}

/** Starts PHP's built-in server for a generated project and waits until it answers. */
export async function startPhpServer(
  dir: string,
  env: Record<string, string> = {},
): Promise<PhpServer> {
  const port = await freePort()
  const child = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', 'public'], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  })
  const server = { url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) }
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      await httpRequest(`${server.url}/`)
      return server
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await server.stop()
        throw new Error(`php -S did not answer on port ${port}: ${String(error)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}
