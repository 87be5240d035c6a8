import { createHash } from 'node:crypto'
import { createReadStream, readFile as readFileCallback, type Stats, statSync } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { promisify } from 'node:util'
import { cleanBlobs } from './git-blobs.js'
import type { ReleaseDiff } from './types.js'

/** One regular file of a release, as every target compares it. */
export interface ReleaseFile {
  sha256: string
  size: number
  /** Permission bits only (`mode & 0o777`): an executable bit change is a change. */
  mode: number
  /** The file's git blob id, when the release is a git checkout (see `known`). */
  blob?: string
}

/** Release files by posix path relative to the release root, sorted by path. */
export type ReleaseFiles = Map<string, ReleaseFile>

export interface ListReleaseFilesOptions {
  /** Posix relative paths (files or directories) left out, e.g. a target's own marker file. */
  skip?: (path: string) => boolean
  signal?: AbortSignal
  /**
   * The files of a release deployed before (the live one's marker). In a git checkout, a file
   * whose blob id, size and mode are the ones recorded there is not read again: its hash is
   * taken from there. Git's own blob ids say which files changed, so a one-file change reads
   * and hashes one file.
   */
  known?: ReleaseFiles
  /**
   * False: files not taken from `known` get an empty sha256, for a caller that sends them all
   * and hashes them as it reads them (packRelease does), instead of reading every file twice.
   */
  hash?: boolean
}

/** A release directory holds something a target cannot deploy (a symlink out, a device, …). */
export class ReleaseFilesError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ReleaseFilesError'
  }
}

/** How many files are hashed at once: enough to hide disk latency, few enough for fd limits. */
const CONCURRENCY = 16
/** Files up to this size are hashed from one read; bigger ones are streamed. */
const SMALL_FILE = 1024 * 1024
/**
 * fs.readFile, not fs/promises' readFile: for small files the promise version is about 3x
 * slower on Node 20 (2,000 site files: 95-115 ms against 30-45 ms).
 */
const readFile = promisify(readFileCallback)

/**
 * Lists the regular files of a release directory with their content hash, size and mode: what
 * every target deploys, records in its marker and diffs against the live release.
 *
 * `.git` is skipped at every depth. A symlink is followed only when it resolves to a regular
 * file inside `dir` and outside any `.git`, and is then deployed as a copy of that file, by
 * every target: a link out of the release could publish anything on this machine (or, through
 * `.git`, the repository's history), and a linked directory could loop. Copies rather than
 * links also mean a target never receives a link, so what one points at on the target (where
 * shared folders are themselves links) can never differ from what was checked here, and no
 * archive can write through one. A link that fails these checks refuses the whole release.
 */
export async function listReleaseFiles(
  dir: string,
  opts: ListReleaseFilesOptions = {},
): Promise<ReleaseFiles> {
  const root = await realpath(dir)
  const found: Found[] = []
  const asked = cleanBlobs(root)
  asked.catch(() => undefined) // awaited below, unless the walk throws first
  await walk(root, '', found, opts)
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const stats = await statAll(found, opts.signal)
  const files: ReleaseFiles = new Map()
  const results = new Array<ReleaseFile>(found.length)
  const blobs = await asked
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < found.length; i = next++) {
      opts.signal?.throwIfAborted()
      const item = found[i]
      if (item === undefined) continue
      // A link is described by what it points at, never by a blob (it has none of its own).
      const blob = item.link ? undefined : blobs?.get(item.path)
      const info = stats[i] as Stats
      results[i] = await describe(
        item.abs,
        info,
        blob,
        opts.known?.get(item.path),
        opts.hash !== false,
      )
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, found.length) }, worker))
  found.forEach((item, i) => {
    const file = results[i]
    if (file !== undefined) files.set(item.path, file)
  })
  return files
}

/** A file found in the release: its path there, where to read it, and whether it is a link. */
interface Found {
  path: string
  abs: string
  link: boolean
}

async function walk(
  root: string,
  rel: string,
  out: Found[],
  opts: ListReleaseFilesOptions,
): Promise<void> {
  opts.signal?.throwIfAborted()
  const entries = await readdir(join(root, rel), { withFileTypes: true })
  const folders: Promise<void>[] = []
  for (const entry of entries) {
    if (entry.name === '.git') continue
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`
    if (opts.skip?.(path) === true) continue
    const abs = join(root, rel, entry.name)
    if (entry.isDirectory()) {
      folders.push(walk(root, path, out, opts))
    } else if (entry.isFile()) {
      out.push({ path, abs, link: false })
    } else if (entry.isSymbolicLink()) {
      out.push({ path, abs: await resolveInside(root, path, abs), link: true })
    } else {
      throw new ReleaseFilesError(
        `${path} in the release is neither a file nor a directory; remove it from the commit.`,
      )
    }
  }
  await Promise.all(folders)
}

async function resolveInside(root: string, path: string, abs: string): Promise<string> {
  let target: string
  try {
    target = await realpath(abs)
  } catch {
    throw new ReleaseFilesError(`${path} is a broken symlink; remove it or commit its target.`)
  }
  const inside = relative(root, target)
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || inside.startsWith(sep)) {
    throw new ReleaseFilesError(
      `${path} is a symlink pointing outside the release (${target}); commit the file itself.`,
    )
  }
  if (inside.split(sep).includes('.git')) {
    throw new ReleaseFilesError(
      `${path} is a symlink into .git, which is never deployed; commit the file itself.`,
    )
  }
  if (!(await stat(target)).isFile()) {
    throw new ReleaseFilesError(
      `${path} is a symlink to a directory; commit the directory's files instead.`,
    )
  }
  return target
}

/** Files stat'ed between two turns of the event loop (see statAll). */
const STAT_BATCH = 512

/**
 * The attributes of every file found, read with statSync in batches of STAT_BATCH: metadata
 * the kernel has cached, so a batch takes about a millisecond, where 2,000 asynchronous stats
 * through libuv's thread pool took 30–50 ms.
 */
async function statAll(found: readonly Found[], signal: AbortSignal | undefined): Promise<Stats[]> {
  const stats: Stats[] = []
  for (let i = 0; i < found.length; i += STAT_BATCH) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve))
    signal?.throwIfAborted()
    for (const item of found.slice(i, i + STAT_BATCH)) stats.push(statSync(item.abs))
  }
  return stats
}

async function describe(
  abs: string,
  info: Stats,
  blob: string | undefined,
  known: ReleaseFile | undefined,
  hash: boolean,
): Promise<ReleaseFile> {
  const mode = info.mode & 0o777
  // Same blob, size and mode as in the release deployed before: the same content (git's checkout
  // conversions, line endings or encodings, change the size when they change the content).
  if (blob !== undefined && known?.blob === blob && known.size === info.size && known.mode === mode)
    return known
  const blobPart = blob === undefined ? {} : { blob }
  if (!hash) return { sha256: '', size: info.size, mode, ...blobPart }
  return { sha256: await hashFile(abs, info.size), size: info.size, mode, ...blobPart }
}

/** The SHA-256 of a file: one read for the many small files of a site, else streamed. */
async function hashFile(abs: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  if (size <= SMALL_FILE) hash.update(await readFile(abs))
  else for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Whether `live` holds the same file: same content and permission bits. */
export function sameFile(live: ReleaseFile | undefined, next: ReleaseFile): boolean {
  return live !== undefined && live.sha256 === next.sha256 && live.mode === next.mode
}

/** What deploying `next` changes against `live` (contents or permission bits), sorted by path. */
export function diffReleases(next: ReleaseFiles, live: ReleaseFiles): ReleaseDiff {
  const added: string[] = []
  const changed: string[] = []
  const removed: string[] = []
  for (const [path, file] of next) {
    const old = live.get(path)
    if (old === undefined) added.push(path)
    else if (!sameFile(old, file)) changed.push(path)
  }
  for (const path of live.keys()) if (!next.has(path)) removed.push(path)
  const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  return { added: added.sort(byPath), changed: changed.sort(byPath), removed: removed.sort(byPath) }
}
