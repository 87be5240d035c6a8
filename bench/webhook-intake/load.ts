/** A fixed-concurrency HTTP load generator over one keep-alive agent, measuring ack latency. */
import http from 'node:http'

/** One prepared webhook delivery: the exact bytes and headers GitHub would send. */
export interface Delivery {
  id: string
  body: string
  headers: Record<string, string>
}

export interface RoundResult {
  requests: number
  errors: number
  /** Status codes other than 2xx, with counts, e.g. { "400": 3 }. */
  statuses: Record<string, number>
  p50Ms: number
  p99Ms: number
  maxMs: number
  throughput: number
  seconds: number
}

const REQUEST_TIMEOUT_MS = 30_000

function post(
  agent: http.Agent,
  target: URL,
  delivery: Delivery,
): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint()
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { ...delivery.headers, 'content-length': Buffer.byteLength(delivery.body) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        res.resume()
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6
          resolve({ status: res.statusCode ?? 0, ms })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)))
    req.on('error', reject)
    req.end(delivery.body)
  })
}

/** The q-quantile (0..1) of sorted values, nearest-rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

/** Posts every delivery to `target` with `concurrency` requests in flight; resolves with stats. */
export async function sendAll(
  target: URL,
  deliveries: Delivery[],
  concurrency: number,
): Promise<RoundResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let errors = 0
  let next = 0
  const started = process.hrtime.bigint()
  const worker = async (): Promise<void> => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++]
      if (!delivery) break
      try {
        const { status, ms } = await post(agent, target, delivery)
        latencies.push(ms)
        if (status < 200 || status > 299) {
          errors++
          statuses[String(status)] = (statuses[String(status)] ?? 0) + 1
        }
      } catch {
        errors++
        statuses.network = (statuses.network ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  agent.destroy()
  latencies.sort((a, b) => a - b)
  return {
    requests: deliveries.length,
    errors,
    statuses,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    throughput: deliveries.length / seconds,
    seconds,
  }
}

/** The median of each metric over rounds (rounds are alternated between targets to be fair). */
export function medianRound(rounds: RoundResult[]): RoundResult {
  const median = (pick: (r: RoundResult) => number): number => {
    const values = rounds.map(pick).sort((a, b) => a - b)
    return quantile(values, 0.5)
  }
  const statuses: Record<string, number> = {}
  for (const round of rounds) {
    for (const [code, count] of Object.entries(round.statuses)) {
      statuses[code] = (statuses[code] ?? 0) + count
    }
  }
  return {
    requests: median((r) => r.requests),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    statuses,
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    maxMs: Math.max(...rounds.map((r) => r.maxMs)),
    throughput: median((r) => r.throughput),
    seconds: median((r) => r.seconds),
  }
}
