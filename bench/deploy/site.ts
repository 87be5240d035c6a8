import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A generated site on disk, named by its git tree id as DevSys names a release. */
export interface Site {
  id: string
  dir: string
  files: number
  bytes: number
  /** The file `changeOneFile` rewrites (its path relative to `dir`). */
  changed?: string
}

// Where the files of a static site with a blog go, and what they look like: text pages and
// scripts of a few KB, a few small data files, and binary images up to 20 KB.
const KINDS = [
  { share: 40, folder: 'posts', ext: 'html', min: 2_000, max: 9_000, text: true },
  { share: 15, folder: 'pages', ext: 'md', min: 1_000, max: 6_000, text: true },
  { share: 10, folder: 'assets/js', ext: 'js', min: 1_000, max: 12_000, text: true },
  { share: 5, folder: 'assets/css', ext: 'css', min: 1_000, max: 8_000, text: true },
  { share: 10, folder: 'data', ext: 'json', min: 200, max: 1_500, text: true },
  { share: 15, folder: 'assets/img', ext: 'webp', min: 2_000, max: 20_000, text: false },
  { share: 5, folder: 'src/lib', ext: 'php', min: 1_000, max: 6_000, text: true },
] as const
const SHARE_TOTAL = KINDS.reduce((sum, k) => sum + k.share, 0)
/** Files per leaf folder (posts are split by year and month, the rest by subfolder). */
const PER_FOLDER = 25
const WORDS =
  'the a deploy release site page post blog author date title image link menu footer header content list item user comment archive tag category search feed share read more next previous home about contact script style theme font color layout grid card button form input value data cache build'.split(
    ' ',
  )

/** A small seeded PRNG (mulberry32), so every run generates the same site. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function text(next: () => number, size: number): Buffer {
  const parts: string[] = []
  let length = 0
  let line = 0
  while (length < size) {
    const word = WORDS[Math.floor(next() * WORDS.length)] ?? 'word'
    const sep = ++line % 12 === 0 ? '\n' : ' '
    parts.push(word, sep)
    length += word.length + 1
  }
  return Buffer.from(parts.join('').slice(0, size))
}

function binary(next: () => number, size: number): Buffer {
  const data = Buffer.alloc(size + 3)
  for (let i = 0; i < size; i += 4) data.writeUInt32LE((next() * 4294967296) >>> 0, i)
  return data.subarray(0, size)
}

/** Where the `index`-th file of a kind goes: leaf folders of PER_FOLDER files. */
function folderOf(folder: string, index: number): string {
  const leaf = Math.floor(index / PER_FOLDER)
  if (folder === 'posts') return `posts/${2015 + Math.floor(leaf / 12)}/${(leaf % 12) + 1}`
  return leaf === 0 ? folder : `${folder}/part-${leaf}`
}

/**
 * Writes a deterministic site of `files` files into `dir` (made here): about 5 KB per file on
 * average, in folders of at most PER_FOLDER files, plus an index.html at the top.
 */
export async function generateSite(dir: string, files: number, seed = 1): Promise<Site> {
  const next = random(seed)
  const counts = KINDS.map((k) => Math.floor((files - 1) * (k.share / SHARE_TOTAL)))
  counts[0] = (counts[0] ?? 0) + files - 1 - counts.reduce((sum, n) => sum + n, 0)
  let bytes = 0
  const made = new Set<string>()
  const write = async (rel: string, data: Buffer): Promise<void> => {
    const parent = path.dirname(path.join(dir, rel))
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true })
      made.add(parent)
    }
    await writeFile(path.join(dir, rel), data)
    bytes += data.length
  }
  await write('index.html', text(next, 4_000))
  for (const [k, kind] of KINDS.entries()) {
    const batch: Promise<void>[] = []
    for (let i = 0; i < (counts[k] ?? 0); i++) {
      const size = kind.min + Math.floor(next() * (kind.max - kind.min))
      const data = kind.text ? text(next, size) : binary(next, size)
      batch.push(
        write(`${folderOf(kind.folder, i)}/${kind.folder.split('/').pop()}-${i}.${kind.ext}`, data),
      )
      if (batch.length >= 64) await Promise.all(batch.splice(0))
    }
    await Promise.all(batch)
  }
  return { id: await treeId(dir), dir, files, bytes }
}

/**
 * Copies `site` to `dir` keeping modification times (`cp -a`, as an edited working copy keeps
 * them), then rewrites one page: a new release with one changed file.
 */
export async function changeOneFile(site: Site, dir: string, label: string): Promise<Site> {
  await run('cp', ['-a', '--', site.dir, dir])
  const changed = 'posts/2015/1/posts-0.html'
  const file = path.join(dir, changed)
  // A new inode (write to a temp name, rename), so a hard-linked copy of `site` is untouched.
  const before = await readFile(file)
  await writeFile(`${file}.new`, Buffer.concat([before, Buffer.from(`\n<!-- ${label} -->\n`)]))
  await run('mv', ['-f', '--', `${file}.new`, file])
  return {
    id: await treeId(dir),
    dir,
    files: site.files,
    bytes: site.bytes + (await readFile(file)).length - before.length,
    changed,
  }
}

/** A copy of `site` with fresh modification times, as a new checkout of the same tree has. */
export async function freshCheckout(site: Site, dir: string): Promise<Site> {
  await cp(site.dir, dir, { recursive: true, preserveTimestamps: false })
  return { ...site, dir }
}

/**
 * The site as DevSys deploys a commit: a git checkout of it (`.git` inside, index up to date),
 * as the clone of a deploy job is. Same files, same tree id; rsync keeps deploying `site.dir`.
 */
export async function gitCheckout(site: Site, dir: string): Promise<Site> {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }
  const git = (args: string[]) => run('git', ['-C', dir, ...args], { env, maxBuffer: 1 << 26 })
  await run('cp', ['-a', '--', site.dir, dir])
  await git(['init', '--quiet'])
  await git(['add', '--all', '.'])
  await git([
    '-c',
    'user.name=bench',
    '-c',
    'user.email=bench@devsys.invalid',
    'commit',
    '-qm',
    'site',
  ])
  const { stdout } = await git(['rev-parse', 'HEAD^{tree}'])
  if (stdout.trim() !== site.id)
    throw new Error(`${dir}: tree ${stdout.trim()}, expected ${site.id}`)
  return { ...site, dir }
}

/** The git tree id of a folder's files, computed with a throw-away index and object store. */
async function treeId(dir: string): Promise<string> {
  const gitDir = await mkdtemp(`${dir}.git-`)
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }
  const git = ['--git-dir', gitDir, '--work-tree', dir]
  try {
    await run('git', ['init', '--quiet', '--bare', gitDir], { env })
    await run('git', [...git, 'add', '--all', '.'], { env, cwd: dir })
    const { stdout } = await run('git', [...git, 'write-tree'], { env })
    return stdout.trim()
  } finally {
    await rm(gitDir, { recursive: true, force: true })
  }
}

/**
 * `{path: sha256}` of every regular file under `dir` (following a top-level symlink such as
 * `current`, not the ones inside), leaving out `ignore`: what a check compares with the site.
 */
export async function digestTree(
  dir: string,
  ignore: readonly string[] = [],
): Promise<Map<string, string>> {
  const digest = new Map<string, string>()
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const rel = path
      .relative(dir, path.join(entry.parentPath, entry.name))
      .split(path.sep)
      .join('/')
    if (ignore.includes(rel)) continue
    digest.set(
      rel,
      createHash('sha256')
        .update(await readFile(path.join(dir, rel)))
        .digest('hex'),
    )
  }
  return digest
}

/** What differs between a deployed folder and the site it should hold, or null when nothing. */
export async function compareWithSite(
  deployed: string,
  site: Site,
  ignore: readonly string[] = [],
): Promise<string | null> {
  const [want, got] = await Promise.all([digestTree(site.dir), digestTree(deployed, ignore)])
  const missing = [...want.keys()].filter((p) => !got.has(p))
  const extra = [...got.keys()].filter((p) => !want.has(p))
  const different = [...want.keys()].filter((p) => got.has(p) && got.get(p) !== want.get(p))
  if (missing.length + extra.length + different.length === 0) return null
  const some = (list: string[]) => list.slice(0, 3).join(', ')
  return `${deployed} differs from ${site.dir}: ${missing.length} missing (${some(missing)}), ${extra.length} extra (${some(extra)}), ${different.length} different (${some(different)})`
}
