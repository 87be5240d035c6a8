// The body of the worker thread started by parseJUnitInWorker (parse-junit-in-worker.ts): parses
// the report it is handed and posts the result back, packed (pack-report.ts), off the app's event
// loop. Plain JavaScript so that it starts the same from source (loading the TypeScript modules
// through tsx) and built.
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'

lowerPriority()

const { opts, source } = workerData
const load = source
  ? async (name) => (await import('tsx/esm/api')).tsImport(`./${name}.ts`, import.meta.url)
  : (name) => import(`./${name}.js`)
const { parseJUnit } = await load('parse-junit')
const { ReportPacker } = await load('pack-report')

// Cases are packed suite by suite as the parser settles them, never all held as objects.
const packer = new ReportPacker()
const result = parseJUnit(takeReport(), opts, (cases) => packer.add(cases))
if (result.ok) {
  const { packed, transfer } = packer.finish(result.report)
  parentPort.postMessage({ ok: true, packed }, transfer)
} else {
  parentPort.postMessage(result)
}

/** The report's bytes, no longer reachable from workerData: freed once parsed. */
function takeReport() {
  const { xml } = workerData
  workerData.xml = undefined
  return Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength)
}

/**
 * On Linux a thread has its own nice value: this one yields the CPU to the app's main thread, so
 * that a parse on a busy machine does not delay webhook acks. Elsewhere it runs as it is.
 */
function lowerPriority() {
  try {
    const thread = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (Number.isInteger(thread) && thread > 0) setPriority(thread, 10)
  } catch {
    // No /proc, or not allowed: the parse still runs, at the app's priority.
  }
}
