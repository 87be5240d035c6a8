import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SeenRequest {
  method: string
  url: string
  authorization: string | undefined
}

export interface GitHttpServer {
  /** http://127.0.0.1:<port> */
  baseUrl: string
  requests: SeenRequest[]
  /** Makes the next requests hang until the server closes (to test aborts). */
  stall(on: boolean): void
  close(): Promise<void>
}

/**
 * A small stand-in for GitHub's smart HTTP: it demands `Authorization: Basic
 * base64("x-access-token:<token>")`, as GitHub does for installation tokens, and hands every
 * request to `git http-backend` as a CGI script serving the bare repositories under `root`.
 */
export async function startGitHttpServer(root: string, token: string): Promise<GitHttpServer> {
  const expected = Buffer.from(`x-access-token:${token}`).toString('base64')
  const requests: SeenRequest[] = []
  const stalled: ServerResponse[] = []
  let stalling = false
  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
    })
    if (stalling) {
      stalled.push(res)
      return
    }
    // The scheme is case-insensitive (RFC 9110); git sends it as written in http.extraHeader.
    const [scheme, credentials] = (req.headers.authorization ?? '').split(' ')
    if (scheme?.toLowerCase() !== 'basic' || credentials !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="GitHub"' }).end('Unauthorized')
      return
    }
    runBackend(root, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    stall(on) {
      stalling = on
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of stalled) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function runBackend(root: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: 'x-access-token',
    REMOTE_ADDR: '127.0.0.1',
  }
  const length = req.headers['content-length']
  if (length) env.CONTENT_LENGTH = length
  const encoding = req.headers['content-encoding']
  if (encoding) env.HTTP_CONTENT_ENCODING = encoding
  const protocol = req.headers['git-protocol']
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol

  const child = spawn('git', ['http-backend'], { env })
  req.pipe(child.stdin)
  let head = Buffer.alloc(0)
  let headersDone = false
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk)
      return
    }
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    headersDone = true
    let status = 200
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim()
      const value = line.slice(colon + 1).trim()
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10)
      else if (name) res.setHeader(name, value)
    }
    res.writeHead(status)
    res.write(head.subarray(end + 4))
  })
  child.stdout.on('end', () => res.end())
  child.on('error', () => res.destroy())
}
