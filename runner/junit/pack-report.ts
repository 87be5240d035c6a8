/**
 * A parsed report in the form the parsing worker posts it back in. Posted as objects, a 200 MiB
 * report's 640,000 cases took the app's main thread seconds to deserialise (webhook acks waited
 * behind it) and a second full copy of their strings. Packed, the common case (a suite, a name, a
 * status, a time, a classname, a file and a line: nearly every passed case) is a row of typed
 * arrays, transferred without a copy, with its repeated strings (suites, classnames, files) sent
 * once; the rest (failures with their messages and stacks) go as JSON, one text per case. All
 * text travels as UTF-8 in transferred buffers, decoded on the main thread one case at a time:
 * posted as strings, a 200 MiB report's took the main thread three quarters of a second to
 * receive. unpackReport rebuilds the cases a slice at a time, letting the event loop run in
 * between. (Decoded text never holds lone surrogates: the parser turns them into U+FFFD, and
 * JSON escapes them, so UTF-8 carries every string exactly.)
 */
import type { TestCase, TestReport, TestStatus } from './types.js'

const STATUSES: readonly TestStatus[] = ['passed', 'failed', 'errored', 'skipped']
/** How many cases unpackReport builds before letting other work run. */
const SLICE = 5_000
const NONE = 0

export interface PackedReport {
  counts: Omit<TestReport, 'suites' | 'cases'>
  /** Each suite as JSON. */
  suites: Texts
  /** Repeated strings, referred to by index + 1 (0: none). */
  strings: Texts
  /** Every lean case's name, in case order. */
  names: Texts
  status: Uint8Array
  suite: Uint32Array
  classname: Uint32Array
  file: Uint32Array
  /** 0: none. */
  line: Uint32Array
  timeMs: Float64Array
  /** Cases that are not lean, each as JSON, and their indexes in `cases`, ascending. */
  others: Texts
  otherIndexes: Uint32Array
}

/** Strings as UTF-8, one after the other, and where each ends. */
export interface Texts {
  bytes: Uint8Array
  ends: Uint32Array
}

function texts(list: string[]): Texts {
  let size = 0
  for (const text of list) size += Buffer.byteLength(text)
  const bytes = Buffer.allocUnsafeSlow(size)
  const ends = new Uint32Array(list.length)
  let at = 0
  list.forEach((text, k) => {
    at += bytes.write(text, at)
    ends[k] = at
  })
  return { bytes: new Uint8Array(bytes.buffer, 0, size), ends }
}

/** The key orders readCase gives a case with nothing but these (see isLean). */
const LEAN_KEYS = ['suite', 'name', 'status', 'timeMs', 'classname', 'file', 'line']

/** Packs a report; the ArrayBuffers to transfer with it. */
export function packReport(report: TestReport): {
  packed: PackedReport
  transfer: ArrayBuffer[]
} {
  const { cases, suites, ...counts } = report
  const n = cases.length
  const strings: string[] = []
  const index = new Map<string, number>()
  const ref = (text: string | undefined): number => {
    if (text === undefined) return NONE
    let at = index.get(text)
    if (at === undefined) {
      strings.push(text)
      at = strings.length
      index.set(text, at)
    }
    return at
  }
  const names: string[] = []
  const others: string[] = []
  const otherIndexes: number[] = []
  const columns = {
    status: new Uint8Array(n),
    suite: new Uint32Array(n),
    classname: new Uint32Array(n),
    file: new Uint32Array(n),
    line: new Uint32Array(n),
    timeMs: new Float64Array(n),
  }
  const packed = columns
  for (let i = 0; i < n; i++) {
    const c = cases[i] as TestCase
    if (!isLean(c)) {
      others.push(JSON.stringify(c))
      otherIndexes.push(i)
      continue
    }
    names.push(c.name)
    packed.status[i] = STATUSES.indexOf(c.status)
    packed.suite[i] = ref(c.suite)
    packed.classname[i] = ref(c.classname)
    packed.file[i] = ref(c.file)
    packed.line[i] = c.line ?? NONE
    packed.timeMs[i] = c.timeMs
  }
  const result: PackedReport = {
    counts,
    suites: texts(suites.map((suite) => JSON.stringify(suite))),
    strings: texts(strings),
    names: texts(names),
    ...columns,
    others: texts(others),
    otherIndexes: Uint32Array.from(otherIndexes),
  }
  const transfer = [
    result.suites.bytes,
    result.suites.ends,
    result.strings.bytes,
    result.strings.ends,
    result.names.bytes,
    result.names.ends,
    columns.status,
    columns.suite,
    columns.classname,
    columns.file,
    columns.line,
    columns.timeMs,
    result.others.bytes,
    result.others.ends,
    result.otherIndexes,
  ].map((a) => a.buffer as ArrayBuffer)
  return { packed: result, transfer }
}

/**
 * Whether the case has only the keys a lean row holds, in readCase's order, with values a row
 * can carry (a line that fits; a file for the line).
 */
function isLean(c: TestCase): boolean {
  let k = 0
  for (const key in c) {
    while (k < LEAN_KEYS.length && LEAN_KEYS[k] !== key) k++
    if (k === LEAN_KEYS.length) return false
  }
  const { line } = c
  if (line !== undefined && !(Number.isInteger(line) && line > 0 && line < 2 ** 32)) return false
  return c.classname !== '' && c.file !== ''
}

/** Cuts Texts apart again, in order. */
function reader(t: Texts): () => string {
  const bytes = Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength)
  let k = 0
  let start = 0
  return () => {
    const end = t.ends[k++] as number
    const text = bytes.toString('utf8', start, end)
    start = end
    return text
  }
}

/** The report packReport packed, rebuilt a slice of cases at a time. */
export async function unpackReport(packed: PackedReport): Promise<TestReport> {
  const { suite, classname, file, line, timeMs, status, otherIndexes } = packed
  const strings: string[] = []
  const nextString = reader(packed.strings)
  for (let k = 0; k < packed.strings.ends.length; k++) strings.push(nextString())
  const string = (at: number): string => strings[at - 1] as string
  const suites: TestReport['suites'] = []
  const nextSuite = reader(packed.suites)
  for (let k = 0; k < packed.suites.ends.length; k++) {
    if (k % SLICE === 0 && k > 0) await new Promise((resolve) => setImmediate(resolve))
    suites.push(JSON.parse(nextSuite()))
  }
  const nextName = reader(packed.names)
  const nextOther = reader(packed.others)
  const n = status.length
  const cases: TestCase[] = new Array(n)
  let others = 0
  for (let i = 0; i < n; i++) {
    if (i % SLICE === 0 && i > 0) await new Promise((resolve) => setImmediate(resolve))
    if (otherIndexes[others] === i) {
      cases[i] = JSON.parse(nextOther()) as TestCase
      others += 1
      continue
    }
    const c: TestCase = {
      suite: string(suite[i] as number),
      name: nextName(),
      status: STATUSES[status[i] as number] as TestStatus,
      timeMs: timeMs[i] as number,
    }
    if (classname[i] !== NONE) c.classname = string(classname[i] as number)
    if (file[i] !== NONE) c.file = string(file[i] as number)
    if (line[i] !== NONE) c.line = line[i] as number
    cases[i] = c
  }
  return { ...packed.counts, suites, cases }
}
