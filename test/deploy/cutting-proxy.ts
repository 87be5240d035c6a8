import { readdirSync } from 'node:fs'
import { createServer, type Server, Socket } from 'node:net'

export interface CuttingProxyOptions {
  /**
   * Checked before each chunk the client sends is passed on; once true, the connection meets
   * its fault. Make it observe the host (see `hostTempReleaseExists`), not a byte count or a
   * time, so the fault comes at the same point of the upload however loaded the machine is.
   */
  when: () => boolean
  /**
   * `cut` (default): both sockets are destroyed, a network drop. `pass`: the connection carries
   * on and only `onFault` runs, before the chunk that met `when` is passed on; the test does
   * its own thing (cancels the deploy) at that exact point.
   */
  fault?: 'cut' | 'pass'
  /** Called once per connection when its fault happens. */
  onFault?: () => void
}

/**
 * A TCP proxy on loopback to `port` that breaks a connection at a point the test chooses (a
 * network drop in the middle of an upload), without touching sshd.
 */
export async function startCuttingProxy(
  port: number,
  opts: CuttingProxyOptions,
): Promise<{ port: number; cuts: () => number; stop(): Promise<void> }> {
  let cuts = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = new Socket()
    sockets.add(client).add(upstream)
    let faulted = false
    const cut = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => {
      if (!faulted && opts.when()) {
        faulted = true
        cuts++
        opts.onFault?.()
        if (opts.fault !== 'pass') {
          cut()
          return
        }
      }
      if (!upstream.destroyed) upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
    for (const socket of [client, upstream]) {
      socket.on('error', cut)
      socket.on('close', () => {
        sockets.delete(socket)
        cut()
      })
    }
    upstream.connect(port, '127.0.0.1')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    port: address.port,
    cuts: () => cuts,
    stop: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Whether the host has started unpacking `releaseId`: its temp folder exists in `root`/releases
 * (made just before tar reads the upload). Data bigger than SSH's channel window cannot all
 * have been sent before that, so a fault keyed to it always lands mid-upload.
 */
export function hostTempReleaseExists(root: string, releaseId: string): boolean {
  try {
    return tempReleases(root).some((n) => n.startsWith(`.tmp-${releaseId}-`))
  } catch {
    return false
  }
}

/** The temp release folders in `root`/releases (without the `.reuse` lists beside them). */
export function tempReleases(root: string): string[] {
  return readdirSync(`${root}/releases`).filter(
    (n) => n.startsWith('.tmp-') && !n.endsWith('.reuse'),
  )
}
