/**
 * A parsed report in the form the parsing worker posts it back in. Posted as objects, a 200 MiB
 * report's 640,000 cases took the app's main thread seconds to deserialise (webhook acks waited
 * behind it) and a second full copy of their strings. Packed, the common case (a suite, a name, a
 * status, a time, a classname, a type, a message, a file and a line: nearly every passed or
 * skipped case, and failures past the report's details budget) is a row of typed arrays,
 * transferred without a copy, with its repeated strings (suites, classnames, types, files) sent
 * once; the rest (failures with their stacks, captured output) go as JSON, one text per case. All
 * text travels as UTF-8 in transferred buffers, decoded on the main thread one case at a time:
 * posted as strings, a 200 MiB report's took the main thread three quarters of a second to
 * receive. unpackReport rebuilds the cases a slice at a time, letting the event loop run in
 * between. (Decoded text never holds lone surrogates: the parser turns them into U+FFFD, and
 * JSON escapes them, so UTF-8 carries every string exactly.)
 */
import { Column } from './column.js'
import { ownCopy } from './junit-text.js'
import type { TestCase, TestReport, TestStatus } from './types.js'

const STATUSES: readonly TestStatus[] = ['passed', 'failed', 'errored', 'skipped']
/** How long unpackReport works before letting other work (webhook acks) run. */
const SLICE_MS = 4

/** Undefined, or when the current slice has used its time, a promise of the next turn. */
function slicer(): () => Promise<void> | undefined {
  let since = performance.now()
  return () => {
    if (performance.now() - since < SLICE_MS) return undefined
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now()
        resolve()
      }),
    )
  }
}
const NONE = 0

export interface PackedReport {
  counts: Omit<TestReport, 'suites' | 'cases'>
  /** Each suite as JSON. */
  suites: Texts
  /** Repeated strings, referred to by index + 1 (0: none). */
  strings: Texts
  /** Every lean case's name, in case order. */
  names: Texts
  /** Every lean case's message, in case order ('' for none). */
  messages: Texts
  status: Uint8Array
  suite: Uint32Array
  classname: Uint32Array
  type: Uint32Array
  file: Uint32Array
  /** 0: none. */
  line: Uint32Array
  timeMs: Float64Array
  /** Cases that are not lean, each as JSON, and their indexes in `cases`, ascending. */
  others: Texts
  otherIndexes: Uint32Array
}

/** Strings as UTF-8, one after the other in chunks, and where each ends in its chunk. */
export interface Texts {
  chunks: Uint8Array[]
  /** The index of each chunk's first string. */
  firsts: Uint32Array
  ends: Uint32Array
}

const CHUNK_BYTES = 8 << 20

/** Writes strings as UTF-8 into chunks as they come, so none is held as a JS string or twice. */
class TextWriter {
  private readonly chunks: Buffer[] = []
  private readonly firsts: number[] = []
  private readonly ends: number[] = []
  private chunk: Buffer = Buffer.alloc(0)
  private at = 0

  constructor(private readonly chunkBytes: number) {}

  add(text: string): void {
    const most = text.length * 3
    if (this.at + most > this.chunk.length) {
      if (this.at > 0) this.chunks.push(this.chunk.subarray(0, this.at))
      this.chunk = Buffer.allocUnsafeSlow(Math.max(this.chunkBytes, most))
      this.at = 0
      this.firsts.push(this.ends.length)
    }
    this.at += this.chunk.write(text, this.at)
    this.ends.push(this.at)
  }

  finish(): Texts {
    if (this.at > 0) this.chunks.push(this.chunk.subarray(0, this.at))
    return {
      chunks: this.chunks.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength)),
      firsts: Uint32Array.from(this.firsts),
      ends: Uint32Array.from(this.ends),
    }
  }
}

function texts(list: readonly string[], chunkBytes: number): Texts {
  const writer = new TextWriter(chunkBytes)
  for (const text of list) writer.add(text)
  return writer.finish()
}

/** The ArrayBuffers of Texts, to transfer. */
function buffersOf(t: Texts): ArrayBuffer[] {
  return [...t.chunks, t.firsts, t.ends].map((a) => a.buffer as ArrayBuffer)
}

/** The key orders readCase gives a case with nothing but these (see isLean). */
const LEAN_KEYS = [
  'suite',
  'name',
  'status',
  'timeMs',
  'classname',
  'type',
  'message',
  'file',
  'line',
]

/**
 * Packs cases as they come (parseJUnit hands them over suite by suite, so that the worker never
 * holds them all as objects), then the report around them.
 */
export class ReportPacker {
  private readonly strings: string[] = []
  private readonly index = new Map<string, number>()
  private readonly names: TextWriter
  private readonly messages: TextWriter
  /** Not-lean cases as JSON. */
  private readonly others: TextWriter
  private readonly otherIndexes = new Column(Uint32Array)
  private readonly status = new Column(Uint8Array)
  private readonly suite = new Column(Uint32Array)
  private readonly classname = new Column(Uint32Array)
  private readonly type = new Column(Uint32Array)
  private readonly file = new Column(Uint32Array)
  private readonly line = new Column(Uint32Array)
  private readonly timeMs = new Column(Float64Array)

  /** `chunkBytes`: the size of the buffers the text is written into (small ones for tests). */
  constructor(private readonly chunkBytes = CHUNK_BYTES) {
    this.names = new TextWriter(chunkBytes)
    this.messages = new TextWriter(chunkBytes)
    this.others = new TextWriter(chunkBytes)
  }

  /** Appends cases, in report order. */
  add(cases: readonly TestCase[]): void {
    for (const c of cases) {
      const i = this.status.length
      if (isLean(c)) {
        this.names.add(c.name)
        this.messages.add(c.message ?? '')
        this.status.push(STATUSES.indexOf(c.status))
        this.suite.push(this.ref(c.suite))
        this.classname.push(this.ref(c.classname))
        this.type.push(this.ref(c.type))
        this.file.push(this.ref(c.file))
        this.line.push(c.line ?? NONE)
      } else {
        this.others.add(JSON.stringify(c))
        this.otherIndexes.push(i)
        this.status.push(0)
        this.suite.push(NONE)
        this.classname.push(NONE)
        this.type.push(NONE)
        this.file.push(NONE)
        this.line.push(NONE)
      }
      this.timeMs.push(c.timeMs)
    }
  }

  /** The packed report (its own `cases` are added first); the ArrayBuffers to transfer with it. */
  finish(report: TestReport): { packed: PackedReport; transfer: ArrayBuffer[] } {
    const { cases, suites, ...counts } = report
    this.add(cases)
    const result: PackedReport = {
      counts,
      suites: texts(
        suites.map((suite) => JSON.stringify(suite)),
        this.chunkBytes,
      ),
      strings: texts(this.strings, this.chunkBytes),
      names: this.names.finish(),
      messages: this.messages.finish(),
      status: this.status.finish(),
      suite: this.suite.finish(),
      classname: this.classname.finish(),
      type: this.type.finish(),
      file: this.file.finish(),
      line: this.line.finish(),
      timeMs: this.timeMs.finish(),
      others: this.others.finish(),
      otherIndexes: this.otherIndexes.finish(),
    }
    const transfer = [
      ...buffersOf(result.suites),
      ...buffersOf(result.strings),
      ...buffersOf(result.names),
      ...buffersOf(result.messages),
      ...buffersOf(result.others),
      ...[result.suite, result.classname, result.type, result.file, result.line]
        .concat([result.otherIndexes])
        .map((a) => a.buffer as ArrayBuffer),
      result.status.buffer as ArrayBuffer,
      result.timeMs.buffer as ArrayBuffer,
    ]
    return { packed: result, transfer }
  }

  private ref(text: string | undefined): number {
    if (text === undefined) return NONE
    let at = this.index.get(text)
    if (at === undefined) {
      const own = ownCopy(text)
      this.strings.push(own)
      at = this.strings.length
      this.index.set(own, at)
    }
    return at
  }
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
  return c.classname !== '' && c.type !== '' && c.message !== '' && c.file !== ''
}

/** Cuts Texts apart again, in order. */
function reader(t: Texts): () => string {
  let chunk = -1
  let bytes: Buffer = Buffer.alloc(0)
  let k = 0
  let start = 0
  return () => {
    while (t.firsts[chunk + 1] === k) {
      chunk += 1
      const c = t.chunks[chunk] as Uint8Array
      bytes = Buffer.from(c.buffer, c.byteOffset, c.byteLength)
      start = 0
    }
    const end = t.ends[k++] as number
    const text = bytes.toString('utf8', start, end)
    start = end
    return text
  }
}

/** The report packReport packed, rebuilt a slice of cases at a time. */
export async function unpackReport(packed: PackedReport): Promise<TestReport> {
  const { suite, classname, type, file, line, timeMs, status, otherIndexes } = packed
  const strings: string[] = []
  const nextString = reader(packed.strings)
  const pause = slicer()
  for (let k = 0; k < packed.strings.ends.length; k++) {
    strings.push(nextString())
    if ((k & 127) === 0) await pause()
  }
  const string = (at: number): string => strings[at - 1] as string
  const suites: TestReport['suites'] = []
  const nextSuite = reader(packed.suites)
  for (let k = 0; k < packed.suites.ends.length; k++) {
    if ((k & 127) === 0) await pause()
    suites.push(JSON.parse(nextSuite()))
  }
  const nextName = reader(packed.names)
  const nextMessage = reader(packed.messages)
  const nextOther = reader(packed.others)
  const n = status.length
  const cases: TestCase[] = new Array(n)
  let others = 0
  for (let i = 0; i < n; i++) {
    if ((i & 127) === 0) await pause()
    if (otherIndexes[others] === i) {
      cases[i] = JSON.parse(nextOther()) as TestCase
      others += 1
      continue
    }
    const name = nextName()
    const message = nextMessage()
    const state = STATUSES[status[i] as number] as TestStatus
    const base = string(suite[i] as number)
    const at = line[i] as number
    let c: TestCase
    if (
      classname[i] !== NONE &&
      type[i] === NONE &&
      message === '' &&
      file[i] !== NONE &&
      at !== NONE
    ) {
      // Most cases: one literal with every key keeps them all inside the object (less memory).
      c = {
        suite: base,
        name,
        status: state,
        timeMs: timeMs[i] as number,
        classname: string(classname[i] as number),
        file: string(file[i] as number),
        line: at,
      }
    } else {
      c = { suite: base, name, status: state, timeMs: timeMs[i] as number }
      if (classname[i] !== NONE) c.classname = string(classname[i] as number)
      if (type[i] !== NONE) c.type = string(type[i] as number)
      if (message !== '') c.message = message
      if (file[i] !== NONE) c.file = string(file[i] as number)
      if (at !== NONE) c.line = at
    }
    cases[i] = c
  }
  return { ...packed.counts, suites, cases }
}
