import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PhpMissingError, type PhpServe, servePhp } from '../../src/deploy/serve-local.js'

let dir: string
let server: PhpServe | undefined
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-serve-test-'))
})
afterEach(async () => {
  await server?.stop()
  server = undefined
  await rm(dir, { recursive: true, force: true })
})

/** A raw GET, so paths like /../x reach the server unnormalized. */
function get(url: string, path: string): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { path }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => {
        text += c.toString('utf8')
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text, type: String(res.headers['content-type']) }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

async function put(path: string, text: string) {
  await mkdir(join(dir, path, '..'), { recursive: true })
  await writeFile(join(dir, path), text)
}

async function point(release: string) {
  await symlink(`releases/${release}`, join(dir, '.next'))
  await rename(join(dir, '.next'), join(dir, 'current'))
}

describe('servePhp', () => {
  it('serves the live release, public/ or its root, and follows switches without a restart', async () => {
    await put('releases/a/public/index.php', '<?php echo "A:" . basename(dirname(__DIR__));')
    await put('releases/a/public/app.css', 'body{}')
    await put('releases/a/secret.txt', 'not public')
    await put('releases/b/index.php', '<?php echo "B root";')
    await put('outside.txt', 'outside')
    server = await servePhp(dir)
    expect((await get(server.url, '/')).status).toBe(503)
    await point('a')
    expect(await get(server.url, '/')).toMatchObject({ status: 200, text: 'A:a' })
    expect(await get(server.url, '/app.css')).toMatchObject({
      status: 200,
      text: 'body{}',
      type: expect.stringMatching(/^text\/css/),
    })
    expect((await get(server.url, '/../secret.txt')).status).toBe(404)
    expect((await get(server.url, '/%2e%2e/secret.txt')).status).toBe(404)
    expect((await get(server.url, '/nope.php')).status).toBe(404)
    await point('b')
    expect(await get(server.url, '/')).toMatchObject({ status: 200, text: 'B root' })
    expect((await get(server.url, '/../../outside.txt')).status).toBe(404)
  })

  it("gives the deployed code none of DevSys's environment (keys, secrets, tokens)", async () => {
    process.env.WEBHOOK_SECRET = 'devsys-webhook-secret-for-this-test'
    try {
      await put(
        'releases/a/index.php',
        "<?php echo json_encode([getenv('WEBHOOK_SECRET'), getenv('HOME')]);",
      )
      await point('a')
      server = await servePhp(dir)
      expect(JSON.parse((await get(server.url, '/')).text)).toEqual([false, false])
    } finally {
      delete process.env.WEBHOOK_SECRET
    }
  })

  it('says how to get PHP when it is missing', async () => {
    const error = await servePhp(dir, { php: 'php-not-installed-here' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PhpMissingError)
    expect((error as Error).message).toMatch(/not found on PATH.*Install the PHP command line/)
  })
})
