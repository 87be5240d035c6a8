import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTargets } from '../../src/deploy/create-target.js'
import { servePhp } from '../../src/deploy/serve-local.js'
import { requireTool } from '../helpers/require-tool.js'

/**
 * The local site is DevSys's own: a server someone else put on the port DevSys wants is never
 * taken for its php -S (the nonce), and DevSys's php -S does not outlive DevSys.
 */
const hasTools =
  requireTool('php', 'local deploys are served by php -S') &&
  requireTool('bwrap', 'php -S runs in the bubblewrap sandbox')
const child = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url))

let dir: string
let impostor: Server | undefined
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-owner-'))
})
afterEach(async () => {
  impostor?.close()
  impostor = undefined
  await rm(dir, { recursive: true, force: true })
})

/** A deploy root with one live release answering `text`. */
async function site(root: string, text: string): Promise<void> {
  await mkdir(join(root, 'releases', 'r1', 'public'), { recursive: true })
  await writeFile(
    join(root, 'releases', 'r1', 'public', 'index.php'),
    `<?php echo ${JSON.stringify(text)};`,
  )
  await symlink('releases/r1', join(root, 'current'))
}

/** An HTTP server that answers everything, even DevSys's probe header, with 200. */
async function startImpostor(): Promise<number> {
  impostor = createServer((req, res) => {
    res.setHeader('x-devsys-proof', String(req.headers['x-devsys-probe'] ?? 'forged'))
    res.end('impostor')
  })
  await new Promise<void>((done) => impostor?.listen(0, '127.0.0.1', done))
  return (impostor.address() as { port: number }).port
}

async function answers(url: string): Promise<string | null> {
  try {
    return await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text()
  } catch {
    return null
  }
}

describe.skipIf(!hasTools)('the local site is DevSys own', () => {
  it('never takes a server someone else runs on the port for its php -S', async () => {
    const root = join(dir, 'site')
    await site(root, 'the real site')
    const port = await startImpostor()
    await expect(servePhp(root, { port, startTimeoutMs: 3000 })).rejects.toThrow(/did not answer/)
  })

  it('after a restart, serves on another port when the last one is taken by an impostor', async () => {
    const deploys = join(dir, 'data')
    await site(join(deploys, 'deploys', 'octo', 'blog', 'production'), 'the real site')
    const port = await startImpostor()
    const targets = createTargets({
      dataDir: deploys,
      deploy: {
        serveLocal: true,
        php: { container: 'unused', url: 'http://127.0.0.1:1' },
        ssh: { runCompose: false, allow: [] },
      },
      log: pino({ level: 'silent' }),
      lastUrl: async () => `http://127.0.0.1:${port}`,
    })
    try {
      const [served] = await targets.resumeLocal()
      expect(served).toBeDefined()
      expect(served?.url).not.toBe(`http://127.0.0.1:${port}`)
      expect(await answers(`${served?.url}/`)).toBe('the real site')
      expect(await answers(`http://127.0.0.1:${port}/`)).toBe('impostor')
    } finally {
      await targets.close()
    }
  })

  it('stops its php -S when DevSys is killed (SIGKILL: no chance to clean up)', async () => {
    const root = join(dir, 'site')
    await site(root, 'served by the child')
    const proc = spawn(process.execPath, ['--import', 'tsx', child, root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const url = await new Promise<string>((done, fail) => {
      proc.stdout.once('data', (chunk: Buffer) => done(chunk.toString('utf8').trim()))
      proc.once('exit', (code) => fail(new Error(`the child exited with ${code}`)))
    })
    expect(await answers(`${url}/`)).toBe('served by the child')
    proc.kill('SIGKILL')
    await new Promise((done) => proc.once('exit', done))
    let alive = true
    for (let i = 0; i < 40 && alive; i++) {
      await new Promise((done) => setTimeout(done, 100))
      alive = (await answers(`${url}/`)) !== null
    }
    expect(alive).toBe(false)
  }, 30_000)
})
