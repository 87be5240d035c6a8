import { connect, createServer, type Socket } from 'node:net'
import type Dockerode from 'dockerode'

/**
 * The host's address on Docker's default bridge (docker0, usually 172.17.0.1): containers on
 * any bridge network, compose projects' included, reach the host there.
 */
export async function dockerHostAddress(docker: Dockerode): Promise<string> {
  const bridge = (await docker.getNetwork('bridge').inspect()) as {
    IPAM?: { Config?: { Gateway?: string }[] }
  }
  const gateway = bridge.IPAM?.Config?.find((c) => c.Gateway !== undefined)?.Gateway
  if (gateway === undefined) throw new Error("Docker's default bridge network has no gateway")
  return gateway
}

/**
 * Makes a server that listens on loopback (a GitHub stand-in, a git HTTP server) reachable from
 * containers: a plain TCP relay on `address` (the bridge's host address, so nothing outside this
 * machine sees it), on a free port, piping each connection to `127.0.0.1:port`.
 */
export async function relayForContainers(
  port: number,
  address: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
      socket.on('close', () => sockets.delete(socket))
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, address, resolve)
  })
  const relayed = (server.address() as { port: number }).port
  return {
    port: relayed,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
