import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Release } from '../../src/deploy/types.js'
import { commitAll } from '../generate/workspace.js'
import { freePort } from '../helpers/services.js'

const run = promisify(execFile)

/**
 * A release of the work tree's HEAD, as DevSys makes one: the tree's files without .git
 * (`git archive`), named by the tree id. `cleanup` removes the copy.
 */
export async function snapshotRelease(
  repo: string,
): Promise<Release & { cleanup(): Promise<void> }> {
  const { stdout } = await run('git', ['-C', repo, 'rev-parse', 'HEAD^{tree}'])
  const dir = await mkdtemp(join(tmpdir(), 'devsys-release-'))
  await run('sh', ['-c', 'git -C "$1" archive HEAD | tar -x -C "$2"', 'sh', repo, dir])
  return { id: stdout.trim(), dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** Changes the blog's title (data/site.json), commits, and returns the new title. */
export async function retitleBlog(repo: string, title: string): Promise<void> {
  const path = join(repo, 'data/site.json')
  const site = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  site.title = title
  await writeFile(path, `${JSON.stringify(site, null, 4)}\n`)
  await commitAll(repo, `Retitle: ${title}`)
}

/** GETs `path` from `php -S` serving `docroot` (started for this one request, then stopped). */
export async function fetchWithPhpServer(
  docroot: string,
  path: string,
): Promise<{ status: number; body: string }> {
  const port = await freePort()
  const child = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', docroot], { stdio: 'ignore' })
  try {
    return await fetchWhenUp(`http://127.0.0.1:${port}${path}`, 10_000)
  } finally {
    await stop(child)
  }
}

/** Fetches `url`, retrying while nothing answers yet (a server starting). */
export async function fetchWhenUp(
  url: string,
  withinMs: number,
): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + withinMs
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
      return { status: response.status, body: await response.text() }
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}
