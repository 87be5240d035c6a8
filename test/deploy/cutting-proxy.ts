import { createServer, type Server, Socket } from 'node:net'

/**
 * A TCP proxy on loopback to `port` that cuts every connection (both sockets destroyed) once
 * the client has sent more than `cutAfterBytes`: a network drop in the middle of an upload,
 * at a point the test chooses, without touching sshd.
 */
export async function startCuttingProxy(
  port: number,
  cutAfterBytes: number,
): Promise<{ port: number; cuts: () => number; stop(): Promise<void> }> {
  let cuts = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = new Socket()
    sockets.add(client).add(upstream)
    let sent = 0
    const cut = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length
      if (sent > cutAfterBytes) {
        cuts++
        cut()
      } else upstream.write(chunk)
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
