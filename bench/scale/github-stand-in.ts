/**
 * A GitHub Enterprise stand-in on loopback for the redelivery scans the worker benchmark runs:
 * `GET /api/v3/app/hook/deliveries` is answered with an empty delivery log and counted;
 * `POST /api/v3/app/hook/deliveries/{id}/attempts` is answered 202 and counted per attempt id;
 * anything else is answered 404 and counted as unexpected.
 */
import { createServer } from 'node:http'

export interface GitHubStandIn {
  /** GHE_HOST for DevSys (with GHE_PROTOCOL=http). */
  host: string
  /** How many times the delivery log was listed. */
  listings: () => number
  /** How many redeliveries were asked for each attempt id. */
  redeliveries: Map<number, number>
  unexpected: () => number
  close(): Promise<void>
}

const ATTEMPTS = /^\/api\/v3\/app\/hook\/deliveries\/(\d+)\/attempts$/

export async function startGitHubStandIn(): Promise<GitHubStandIn> {
  const redeliveries = new Map<number, number>()
  let unexpected = 0
  let listings = 0
  const server = createServer((req, res) => {
    req.resume()
    const match = req.method === 'POST' ? ATTEMPTS.exec(req.url ?? '') : null
    if (match) {
      const id = Number(match[1])
      redeliveries.set(id, (redeliveries.get(id) ?? 0) + 1)
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}')
      return
    }
    if (req.method === 'GET' && req.url?.split('?')[0] === '/api/v3/app/hook/deliveries') {
      listings++
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]')
      return
    }
    unexpected++
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    host: `127.0.0.1:${port}`,
    listings: () => listings,
    redeliveries,
    unexpected: () => unexpected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
