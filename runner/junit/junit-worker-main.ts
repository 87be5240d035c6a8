// The body of the worker thread started by parseJUnitInWorker (parse-junit-in-worker.ts): parses
// the report it is handed and posts the result back, packed (pack-report.ts), off the app's event
// loop. Run from source, it is bundled into one plain script first (no TypeScript loader in the
// worker); built, junit-worker.mjs imports it.
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { ReportPacker } from './pack-report.js'
import { type ParseJUnitOptions, parseJUnit } from './parse-junit.js'

lowerPriority()

const { opts } = workerData as { opts: ParseJUnitOptions }
// Cases are packed suite by suite as the parser settles them, never all held as objects.
const packer = new ReportPacker()
const result = parseJUnit(takeReport(), opts, (cases) => packer.add(cases))
if (result.ok) {
  const { packed, transfer } = packer.finish(result.report)
  parentPort?.postMessage({ ok: true, packed }, transfer)
} else {
  parentPort?.postMessage(result)
}

/** The report's bytes, no longer reachable from workerData: freed once parsed. */
function takeReport(): Buffer {
  const data = workerData as { xml: Uint8Array | undefined }
  const { xml } = data
  data.xml = undefined
  if (xml === undefined) throw new Error('the parsing worker was started without a report')
  return Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength)
}

/**
 * On Linux a thread has its own nice value: this one yields the CPU to the app's main thread, so
 * that a parse on a busy machine does not delay webhook acks. Elsewhere it runs as it is.
 */
function lowerPriority(): void {
  try {
    const thread = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (Number.isInteger(thread) && thread > 0) setPriority(thread, 10)
  } catch {
    // No /proc, or not allowed: the parse still runs, at the app's priority.
  }
}
