import { parseJUnit } from './parse-junit.js'
import { parseJUnitInWorker } from './parse-junit-in-worker.js'
import type { JUnitResult, ParseJUnitOptions } from './types.js'

/**
 * Reports up to this size are parsed on the calling thread: a 64 KiB report (about 200 cases)
 * takes a few milliseconds, less than starting the parsing worker (about 0.3 s), which is most
 * of what a self-fix-loop iteration's test run costs besides the tests themselves.
 */
export const IN_PROCESS_MAX_BYTES = 64 * 1024

/**
 * Parses a JUnit report where it costs least without stalling the app: small ones right here,
 * bigger ones in a worker thread (parseJUnitInWorker; the buffer is moved there: do not use
 * `xml` after the call).
 */
export function parseJUnitReport(
  xml: Buffer,
  opts: ParseJUnitOptions = {},
  inWorker: typeof parseJUnitInWorker = parseJUnitInWorker,
): Promise<JUnitResult> {
  if (xml.byteLength <= IN_PROCESS_MAX_BYTES) return Promise.resolve(parseJUnit(xml, opts))
  return inWorker(xml, opts)
}
