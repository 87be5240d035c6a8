import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { listWorkspace, type WorkspaceEntry } from '../../../runner/workspace-files.js'
import { DeployError, type DeployTarget, type ReleaseDiff, type TargetState } from '../types.js'

// Shared by the ssh and php targets. (src/deploy/release-files.ts, written in parallel, lists
// and diffs releases for the local target; this file keeps what the remote targets need to
// build tars and the `{path: sha256}` marker, and can move onto it once it lands.)

/** Files up to this size are read in one go (hashing, packing); bigger ones are streamed. */
const SMALL_FILE = 1024 * 1024
/** Files hashed at the same time. */
const PARALLEL_READS = 16
/** Tar bytes gathered before they are written on (fewer, bigger SSH packets). */
const BATCH_BYTES = 256 * 1024

/** Written last into every complete release: `{path: sha256}` of its files. */
export const RELEASE_MARKER = '.devsys-files.json'

/** A tree id (SHA-1 or SHA-256 git): the only thing that is ever put in a release's path. */
const RELEASE_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** Throws unless `id` is a git tree id, so it can name a folder without quoting concerns. */
export function checkReleaseId(id: string, target: DeployTarget['kind']): string {
  if (!RELEASE_ID.test(id)) {
    throw new DeployError(
      'not-found',
      target,
      `${JSON.stringify(id)} is not a release id (a git tree id)`,
    )
  }
  return id
}

/** Whether a name read back from the target is a release folder (not .tmp-*, not junk). */
export function isReleaseId(name: string): boolean {
  return RELEASE_ID.test(name)
}

/** Checks shared folder paths: relative, normalized, inside the release. */
export function checkSharedPaths(shared: readonly string[]): string[] {
  return shared.map((raw) => {
    const path = raw.replace(/\/+$/, '')
    const parts = path.split('/')
    if (
      path === '' ||
      path.startsWith('/') ||
      parts.some((p) => p === '' || p === '.' || p === '..')
    ) {
      throw new Error(
        `shared folder ${JSON.stringify(raw)} must be a relative path inside the release`,
      )
    }
    return path
  })
}

/** The link a release holds at `path` to reach `<root>/shared/<path>` from `releases/<id>/`. */
export function sharedLinkTarget(path: string): string {
  return `${'../'.repeat(path.split('/').length + 1)}shared/${path}`
}

export interface LocalRelease {
  /** Folders, files and symlinks to deploy (shared folders and the marker left out). */
  entries: WorkspaceEntry[]
  /** `{path: sha256}` of files and symlinks (a link hashes as `symlink:<target>`). */
  hashes: Record<string, string>
}

/** Lists and hashes a local release folder (without .git, shared folders and a stray marker). */
export async function readLocalRelease(
  dir: string,
  shared: readonly string[],
): Promise<LocalRelease> {
  const listing = await listWorkspace(dir)
  const inShared = (path: string): boolean =>
    shared.some((s) => path === s || path.startsWith(`${s}/`))
  const entries = listing.entries.filter((e) => e.path !== RELEASE_MARKER && !inShared(e.path))
  const hashes: Record<string, string> = {}
  const files = entries.filter((e) => e.kind === 'file')
  let next = 0
  const worker = async (): Promise<void> => {
    for (let file = files[next++]; file !== undefined; file = files[next++]) {
      hashes[file.path] = await hashFile(join(dir, file.path), file.size)
    }
  }
  await Promise.all(Array.from({ length: PARALLEL_READS }, worker))
  // In listing order, so the marker reads the same for the same tree.
  const ordered: Record<string, string> = {}
  for (const entry of entries) {
    const hash = hashes[entry.path]
    if (entry.kind === 'file' && hash !== undefined) ordered[entry.path] = hash
    else if (entry.kind === 'symlink') {
      ordered[entry.path] = createHash('sha256').update(`symlink:${entry.target}`).digest('hex')
    }
  }
  return { entries, hashes: ordered }
}

async function hashFile(path: string, size: number): Promise<string> {
  if (size <= SMALL_FILE)
    return createHash('sha256')
      .update(await readFile(path))
      .digest('hex')
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

/** Parses a marker read from a target; anything malformed counts as no previous release. */
export function parseMarker(text: string): Record<string, string> {
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
    const hashes: Record<string, string> = {}
    for (const [path, hash] of Object.entries(value))
      if (typeof hash === 'string') hashes[path] = hash
    return hashes
  } catch {
    return {}
  }
}

/** What `next` adds, changes and removes against `live` (both `{path: sha256}`). */
export function diffHashes(
  next: Record<string, string>,
  live: Record<string, string>,
): ReleaseDiff {
  const diff: ReleaseDiff = { added: [], changed: [], removed: [] }
  for (const [path, hash] of Object.entries(next)) {
    const old = live[path]
    if (old === undefined) diff.added.push(path)
    else if (old !== hash) diff.changed.push(path)
  }
  for (const path of Object.keys(live)) if (next[path] === undefined) diff.removed.push(path)
  for (const list of [diff.added, diff.changed, diff.removed]) list.sort()
  return diff
}

/**
 * A tar of the release under `prefix`: every folder and symlink, the files in `send`, and the
 * marker last (so a release that has its marker has everything before it). Files are streamed
 * one by one; `counter.bytes` grows with what the consumer reads.
 */
export function packRelease(
  dir: string,
  release: LocalRelease,
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
      pack.entry({ name: `${opts.prefix}/`, type: 'directory', mode: 0o755, ...common })
    for (const entry of release.entries) {
      if (entry.kind === 'dir') {
        pack.entry({
          name: `${name(entry.path)}/`,
          type: 'directory',
          mode: entry.mode | 0o700,
          ...common,
        })
      } else if (entry.kind === 'symlink') {
        pack.entry({
          name: name(entry.path),
          type: 'symlink',
          linkname: entry.target,
          mode: 0o777,
          ...common,
        })
      } else if (send.has(entry.path)) {
        const header = {
          name: name(entry.path),
          type: 'file' as const,
          mode: entry.mode,
          ...common,
        }
        if (entry.size <= SMALL_FILE) {
          // One read instead of a stream: most files of a site are small.
          const data = await readFile(join(dir, entry.path))
          await new Promise<void>((resolve, reject) =>
            pack.entry({ ...header, size: data.length }, data, (error) =>
              error ? reject(error) : resolve(),
            ),
          )
        } else {
          const sink = pack.entry({ ...header, size: entry.size })
          await pipeline(createReadStream(join(dir, entry.path)), sink)
        }
      }
    }
    const marker = Buffer.from(`${JSON.stringify(release.hashes)}\n`)
    pack.entry({ name: name(RELEASE_MARKER), type: 'file', mode: 0o644, ...common }, marker)
    pack.finalize()
  }
  fill().catch((error: unknown) => pack.destroy(error as Error))
  return { stream: counted, counter }
}

/**
 * Reads the output of the state scripts: the `current` link, a separator line, then
 * `releases/<id>/<marker>` lines newest first. Only hex ids count (not `.tmp-*`, not junk).
 */
export function parseStateOutput(stdout: string, separator: string): TargetState {
  const [link = '', listing = ''] = stdout.split(`${separator}\n`)
  const linked = /^releases\/([0-9a-f]+)$/.exec(link.trim())?.[1]
  const releases = listing
    .split('\n')
    .map((line) => /^releases\/([^/]+)\//.exec(line)?.[1])
    .filter((id): id is string => id !== undefined && isReleaseId(id))
  return { current: linked !== undefined && isReleaseId(linked) ? linked : null, releases }
}
