import { createHash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { ReleaseFile } from '../release-files.js'
import { formatReleaseMarker, RELEASE_MARKER, type ReleaseMarker } from './release-plan.js'

/** Files up to this size are read in one go; bigger ones are streamed. */
const SMALL_FILE = 1024 * 1024
/** Tar bytes gathered before they are passed on (fewer, bigger SSH packets). */
const BATCH_BYTES = 256 * 1024
/** Git records no folder modes: every folder of a release is created like this. */
const DIR_MODE = 0o755

/** tar-stream's header encoder (ustar, PAX for long names), used without its stream machinery. */
interface TarHeader {
  name: string
  mode: number
  uid: number
  gid: number
  size: number
  mtime: Date
  type: 'file' | 'directory' | 'pax-header'
}
const headers = createRequire(import.meta.url)('tar-stream/headers.js') as {
  encode(header: TarHeader): Buffer | null
  encodePax(opts: { name: string }): Buffer
}

/** A ustar header, or a PAX header carrying the name and then the ustar one (as tar-stream). */
function encodeHeader(header: TarHeader): Buffer[] {
  const plain = headers.encode(header)
  if (plain !== null) return [plain]
  const pax = headers.encodePax({ name: header.name })
  const holder: TarHeader = { ...header, name: 'PaxHeader', size: pax.length, type: 'pax-header' }
  const first = headers.encode(holder)
  const second = headers.encode({ ...holder, size: header.size, type: header.type })
  if (first === null || second === null) throw new Error(`cannot put ${header.name} in a tar`)
  return [first, pax, padding(pax.length), second]
}

const ZEROS = Buffer.alloc(1024)
/** The zeros that fill an entry's data up to the next 512-byte block. */
const padding = (size: number): Buffer => ZEROS.subarray(0, (512 - (size % 512)) % 512)

/**
 * A tar of the release under `prefix` for the ssh and php targets: the folders of its files,
 * the files in `send` (with their permission bits), and the marker last (so a release that
 * has its marker has everything before it). The tar holds no symlinks: listReleaseFiles lists
 * a link inside the release as a copy of its file, so extracting can never write through one.
 * The tar is passed on in 256 KB pieces (an SSH packet per
 * piece, not per header); big files are streamed. A sent file whose sha256 is empty (listed
 * with `hash: false`) is hashed as it is read, and its hash set in `release.files` before the
 * marker is written: a full upload reads each file once. `counter.bytes` grows with what the
 * consumer reads; a consumer that stops early (a lost connection) stops the reading too.
 */
export function packRelease(
  dir: string,
  release: ReleaseMarker,
  send: ReadonlySet<string>,
  opts: { prefix: string; owner?: { uid: number; gid: number } },
): { stream: NodeJS.ReadableStream; counter: { bytes: number } } {
  const counter = { bytes: 0 }
  const common = { mtime: new Date(), uid: opts.owner?.uid ?? 0, gid: opts.owner?.gid ?? 0 }
  const name = (path: string): string => (opts.prefix === '' ? path : `${opts.prefix}/${path}`)
  const sent = [...release.files].filter(([path]) => send.has(path))

  async function* tar(): AsyncGenerator<Buffer> {
    let batch: Buffer[] = []
    let batched = 0
    const add = (...chunks: Buffer[]): void => {
      for (const chunk of chunks) {
        batch.push(chunk)
        batched += chunk.length
      }
    }
    /** Whether a batch is ready to go (each `yield take()` hands one over). */
    const full = (): boolean => batched >= BATCH_BYTES
    const take = (): Buffer => {
      const out = Buffer.concat(batch, batched)
      batch = []
      batched = 0
      counter.bytes += out.length
      return out
    }
    const entry = (path: string, type: 'file' | 'directory', mode: number, size: number) =>
      encodeHeader({ name: path, type, mode, size, ...common })

    if (opts.prefix !== '') add(...entry(`${opts.prefix}/`, 'directory', DIR_MODE, 0))
    for (const folder of foldersOf(release.files.keys())) {
      add(...entry(`${name(folder)}/`, 'directory', DIR_MODE, 0))
      if (full()) yield take()
    }
    // Small files are read synchronously: from the page cache that is microseconds each, and
    // the generator hands over every BATCH_BYTES, so the event loop waits at most one batch
    // (about 50 small files). Through the thread pool they took 3x longer in all.
    for (const [path, file] of sent) {
      if (file.size > SMALL_FILE) {
        yield* bigFile(path, file)
        continue
      }
      const data = readFileSync(join(dir, path))
      if (file.sha256 === '') hashed(file, createHash('sha256').update(data), data.length)
      add(...entry(name(path), 'file', file.mode, data.length), data, padding(data.length))
      if (full()) yield take()
    }
    const marker = Buffer.from(formatReleaseMarker(release))
    // The marker, then the end of the archive (two empty blocks), with whatever is batched.
    add(...entry(name(RELEASE_MARKER), 'file', 0o644, marker.length), marker)
    add(padding(marker.length), ZEROS)
    if (batched > 0) yield take()

    /** A file over SMALL_FILE, streamed in the size it was listed with. */
    async function* bigFile(path: string, file: ReleaseFile): AsyncGenerator<Buffer> {
      const hash = file.sha256 === '' ? createHash('sha256') : undefined
      add(...entry(name(path), 'file', file.mode, file.size))
      if (full()) yield take()
      let read = 0
      for await (const chunk of createReadStream(join(dir, path))) {
        const data = chunk as Buffer
        read += data.length
        if (read > file.size) throw new Error(`${path} grew while it was being sent`)
        hash?.update(data)
        add(data)
        if (full()) yield take()
      }
      if (read !== file.size) throw new Error(`${path} shrank while it was being sent`)
      if (hash !== undefined) hashed(file, hash, read)
      add(padding(file.size))
      if (full()) yield take()
    }
  }
  return { stream: Readable.from(tar(), { objectMode: false }), counter }
}

/** Records the hash (and size) of a file listed without one. */
function hashed(file: ReleaseFile, hash: ReturnType<typeof createHash>, size: number): void {
  file.sha256 = hash.digest('hex')
  file.size = size
}

/** Every folder that holds one of `paths`, parents first. */
function foldersOf(paths: Iterable<string>): string[] {
  const folders = new Set<string>()
  for (const path of paths) {
    for (let end = path.indexOf('/'); end !== -1; end = path.indexOf('/', end + 1)) {
      folders.add(path.slice(0, end))
    }
  }
  // A parent is a prefix of its children, so it sorts before them.
  return [...folders].sort()
}
