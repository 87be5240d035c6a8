// The body of the worker thread started by parseJUnitInWorker (parse-junit-in-worker.ts): parses
// the report it is handed and posts the result back, off the app's event loop. Plain JavaScript
// so that it starts the same from source (loading the TypeScript parser through tsx) and built.
import { parentPort, workerData } from 'node:worker_threads'

const { xml, opts, source } = workerData
const { parseJUnit } = source
  ? await (await import('tsx/esm/api')).tsImport('./parse-junit.ts', import.meta.url)
  : await import('./parse-junit.js')
const bytes = Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength)
parentPort.postMessage(parseJUnit(bytes, opts))
