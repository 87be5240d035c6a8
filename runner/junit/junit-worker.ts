/**
 * The body of the worker thread started by parseJUnitInWorker: parses the report it is handed and
 * posts the result back. Kept apart so that a 200 MiB report never blocks the app's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { parseJUnit } from './parse-junit.js'
import type { ParseJUnitOptions } from './types.js'

interface Job {
  xml: Uint8Array
  opts: ParseJUnitOptions
}

const job = workerData as Job
const xml = Buffer.from(job.xml.buffer, job.xml.byteOffset, job.xml.byteLength)
parentPort?.postMessage(parseJUnit(xml, job.opts))
