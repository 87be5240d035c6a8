import { Worker } from 'node:worker_threads'
import { bundleParsingWorker } from './bundle-worker.js'
import { type PackedReport, unpackReport } from './pack-report.js'
import type { JUnitResult, ParseJUnitOptions } from './types.js'

/** What the worker posts: a failure as it is, a report packed. */
type WorkerResult = Exclude<JUnitResult, { ok: true }> | { ok: true; packed: PackedReport }

/** How much heap a parse may use before the worker (not the app) runs out of memory. */
const WORKER_HEAP_MB = 2048
/**
 * The worker's young generation. A parse makes garbage at a high rate, so V8 grows it to its
 * default largest, two 16 MiB halves, all resident; 6 MiB keeps the app's peak during a 200 MiB
 * parse about 15 MiB lower, for about 5% more parse time (more, shorter scavenges).
 */
const WORKER_YOUNG_MB = 6

/**
 * parseJUnit in a worker thread, so that a big report (up to 200 MiB, seconds of parsing) does
 * not stall the app's event loop: webhook acks and API answers go on while it runs. The report's
 * memory is moved to the worker when the buffer owns it whole, so it is not copied: do not use
 * `xml` after the call. Rejects only when the worker itself fails (out of memory, killed).
 */
export async function parseJUnitInWorker(
  xml: Uint8Array,
  opts: ParseJUnitOptions = {},
): Promise<JUnitResult> {
  const whole = xml.byteOffset === 0 && xml.byteLength === xml.buffer.byteLength
  // Node's pooled small Buffers share one ArrayBuffer: those are copied, which costs nothing.
  const data = whole ? xml : Uint8Array.prototype.slice.call(xml)
  const source = import.meta.url.endsWith('.ts')
  // From source (tsx, vitest) the worker runs a plain bundle of the parser, or loads it via tsx.
  const script = source ? await bundleParsingWorker() : undefined
  const options = {
    workerData: { xml: data, opts, source },
    transferList: data.buffer instanceof ArrayBuffer ? [data.buffer] : [],
    resourceLimits: {
      maxOldGenerationSizeMb: WORKER_HEAP_MB,
      maxYoungGenerationSizeMb: WORKER_YOUNG_MB,
    },
  }
  const worker =
    script === undefined
      ? new Worker(new URL('./junit-worker.mjs', import.meta.url), options)
      : new Worker(script, { ...options, eval: true })
  return new Promise((resolve, reject) => {
    let settled = false
    worker.once('message', (result: WorkerResult) => {
      settled = true
      // The worker's memory (the report's bytes above all) is freed when it has stopped: the
      // report is rebuilt only then, so that both are never held at once.
      const stopped = worker.terminate()
      if (!result.ok) resolve(result)
      else
        stopped
          .then(() => unpackReport(result.packed))
          .then((report) => resolve({ ok: true, report }), reject)
    })
    worker.once('error', (error) => {
      settled = true
      reject(
        new Error(`The JUnit report could not be parsed: its worker failed (${error.message}).`),
      )
    })
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`The JUnit report's parsing worker exited with code ${code}.`))
    })
  })
}
