import { connect, createServer, type Socket } from 'node:net'
import Dockerode from 'dockerode'

/**
 * A Docker client for tests that mock GitHub, reaching the real engine through a loopback TCP
 * relay.
 *
 * Why: under nock 15 (every job-level test), @mswjs/interceptors passes requests through to
 * other hosts by replaying them as separate socket writes, the last a zero-length one from
 * ClientRequest.end(). Over the engine's unix socket, requests with a body fail with
 * `write EPIPE` (mswjs/interceptors#722, #760), and a request the engine rejects at once (404
 * for a missing container, `Connection: close`) can be closed before that last write arrives
 * (about 3 in 10, measured; 0 in 200 without nock). The relay listens on loopback TCP, which
 * nock passes through, and ends each client connection 100 ms after the engine ended it. It is
 * plain byte piping, so DevSys's code talks to the real engine exactly as over the socket.
 */
export async function loopbackDocker(): Promise<{ docker: Dockerode; close(): Promise<void> }> {
  const engine = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  const dial = (): Socket => {
    if (engine.startsWith('unix://')) return connect(engine.slice('unix://'.length))
    const url = new URL(engine.replace(/^tcp:/, 'http:'))
    return connect(Number(url.port || 2375), url.hostname)
  }
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = dial()
    sockets.add(client).add(upstream)
    client.on('data', (chunk: Buffer) => upstream.write(chunk))
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
    upstream.on('end', () => setTimeout(() => client.end(), 100).unref())
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
      socket.on('close', () => sockets.delete(socket))
    }
    client.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    docker: new Dockerode({ host: '127.0.0.1', port, protocol: 'http' }),
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
