import { createHash } from 'node:crypto'
import { createReadStream, readFile as readFileCallback } from 'node:fs'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import tar from 'tar-stream'
import { formatReleaseMarker, RELEASE_MARKER, type ReleaseMarker } from './release-plan.js'

/** Files up to this size are read in one go; bigger ones are streamed. */
const SMALL_FILE = 1024 * 1024
/** fs.readFile: about 3x faster than fs/promises' for small files on Node 20. */
const readFile = promisify(readFileCallback)
/** Tar bytes gathered before they are written on (fewer, bigger SSH packets). */
const BATCH_BYTES = 256 * 1024
/** Git records no folder modes: every folder of a release is created like this. */
const DIR_MODE = 0o755
/** Small files read ahead of the one being packed, so the disk is never waited on in turn. */
const READ_AHEAD = 16

/**
 * A tar of the release under `prefix` for the ssh and php targets: the folders of its files,
 * the files in `send` (with their permission bits), and the marker last (so a release that
 * has its marker has everything before it). The tar holds no symlinks: listReleaseFiles lists
 * a link inside the release as a copy of its file, so extracting can never write through one.
 * Files are streamed one by one; `counter.bytes` grows with what the consumer reads. A sent
 * file whose sha256 is empty (listed with `hash: false`) is hashed as it is read, and its hash
 * set in `release.files` before the marker is written: a full upload reads each file once.
 */
export function packRelease(
  dir: string,
  release: ReleaseMarker,
  send: ReadonlySet<string>,
  opts: { prefix: string; owner?: { uid: number; gid: number } },
): { stream: NodeJS.ReadableStream; counter: { bytes: number } } {
  const pack = tar.pack()
  const counter = { bytes: 0 }
  // Counted on the way out (a 'data' listener on the pack would start it flowing too early),
  // and coalesced: tar-stream emits a chunk per header and per file, and each chunk written
  // to an SSH channel is a packet of its own, so 2,000 small files would mean 6,000 packets.
  let batch: Buffer[] = []
  let batched = 0
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length
      batch.push(chunk)
      batched += chunk.length
      if (batched < BATCH_BYTES) return done()
      const out = Buffer.concat(batch)
      batch = []
      batched = 0
      done(null, out)
    },
    flush(done) {
      done(null, batch.length === 0 ? null : Buffer.concat(batch))
    },
  })
  pack.pipe(counted)
  pack.on('error', (error) => counted.destroy(error))
  // A consumer that stops early (a lost connection) stops the packing and its file reads too.
  counted.on('close', () => pack.destroy())
  const common = { mtime: new Date(), uid: opts.owner?.uid ?? 0, gid: opts.owner?.gid ?? 0 }
  const name = (path: string): string => (opts.prefix === '' ? path : `${opts.prefix}/${path}`)
  const fill = async (): Promise<void> => {
    if (opts.prefix !== '')
      pack.entry({ name: `${opts.prefix}/`, type: 'directory', mode: DIR_MODE, ...common })
    for (const folder of foldersOf(release.files.keys())) {
      pack.entry({ name: `${name(folder)}/`, type: 'directory', mode: DIR_MODE, ...common })
    }
    const sent = [...release.files].filter(([path]) => send.has(path))
    // Small files are read READ_AHEAD at a time, in order; big ones are streamed when due.
    const reads = new Map<number, Promise<Buffer>>()
    const readAhead = (from: number): void => {
      for (let i = from; i < Math.min(sent.length, from + READ_AHEAD); i++) {
        const entry = sent[i]
        if (reads.has(i) || entry === undefined || entry[1].size > SMALL_FILE) continue
        const reading = readFile(join(dir, entry[0]))
        reading.catch(() => undefined) // awaited in turn below
        reads.set(i, reading)
      }
    }
    for (const [i, [path, file]] of sent.entries()) {
      readAhead(i)
      const header = { name: name(path), type: 'file' as const, mode: file.mode, ...common }
      const reading = reads.get(i)
      reads.delete(i)
      if (reading !== undefined) {
        const data = await reading
        if (file.sha256 === '') {
          file.sha256 = createHash('sha256').update(data).digest('hex')
          file.size = data.length
        }
        await new Promise<void>((resolve, reject) =>
          pack.entry({ ...header, size: data.length }, data, (error) =>
            error ? reject(error) : resolve(),
          ),
        )
      } else {
        const sink = pack.entry({ ...header, size: file.size })
        const hash = file.sha256 === '' ? createHash('sha256') : undefined
        const source = createReadStream(join(dir, path))
        if (hash !== undefined) source.on('data', (chunk) => hash.update(chunk as Buffer))
        await pipeline(source, sink)
        if (hash !== undefined) file.sha256 = hash.digest('hex')
      }
    }
    const marker = Buffer.from(formatReleaseMarker(release))
    pack.entry({ name: name(RELEASE_MARKER), type: 'file', mode: 0o644, ...common }, marker)
    pack.finalize()
  }
  fill().catch((error: unknown) => pack.destroy(error as Error))
  return { stream: counted, counter }
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
