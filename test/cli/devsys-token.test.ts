/**
 * `devsys token create|list|revoke` as people run it (`npx devsys`, a new process each time) on
 * the store DATA_DIR names; the token it prints then opens the API of a DevSys on that store.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startDevsys } from '../../src/boot.js'
import { testLogger, testPrivateKey } from '../helpers/github.js'
import { httpRequest } from '../helpers/http.js'
import { freePort } from '../helpers/services.js'

const run = promisify(execFile)
/** Each command is a Node process compiling TypeScript at start: seconds on a busy machine. */
const SLOW = 120_000
const PROJECT = resolve(import.meta.dirname, '../..')
const SETTINGS = Object.keys(
  (
    JSON.parse(readFileSync(join(PROJECT, 'specs/env.schema.json'), 'utf8')) as {
      properties: object
    }
  ).properties,
)

let dataDir: string
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'devsys-token-'))
})
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true })
})

type Result = { code: number; stdout: string; stderr: string }

function devsys(args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of SETTINGS) delete env[name]
  env.DATA_DIR = dataDir
  return run('npx', ['devsys', ...args], { cwd: PROJECT, env }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: Result) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  )
}

describe('npx devsys token', () => {
  it(
    'creates a token printed once (only its hash stored), lists it without it, and revokes it',
    async () => {
      const created = await devsys([
        'token',
        'create',
        '--name',
        'deployer',
        '--role',
        'operator',
        '--repo',
        'octo-org/*',
        '--env',
        'staging',
        '--expires-in-days',
        '30',
      ])
      expect(created.code, created.stderr).toBe(0)
      const token = created.stdout.trim()
      expect(token).toMatch(/^dsy_[A-Za-z0-9_-]{43}$/)
      expect(created.stderr).toContain('only time the token is shown')

      const db = new Database(join(dataDir, 'devsys.sqlite'), { readonly: true })
      const rows = db.prepare('SELECT * FROM api_tokens').all() as Array<Record<string, unknown>>
      const audit = JSON.stringify(db.prepare('SELECT * FROM audit').all())
      db.close()
      expect(rows).toMatchObject([
        {
          name: 'deployer',
          role: 'operator',
          hash: createHash('sha256').update(token).digest('hex'),
        },
      ])
      expect(JSON.stringify(rows)).not.toContain(token.slice(4))
      expect(audit).toContain('token.create')
      expect(audit).not.toContain(token.slice(4))

      const listed = await devsys(['token', 'list'])
      expect(listed.code).toBe(0)
      expect(listed.stdout).toMatch(/^1\tdeployer\toperator\trepos=octo-org\/\*\tenvs=staging\t/)
      expect(listed.stdout).toContain('last-used=never\tactive')
      expect(listed.stdout).not.toContain(token.slice(4))

      // A DevSys on the same DATA_DIR accepts the token, within its scope.
      const port = await freePort()
      const server = await startDevsys({
        env: {
          DATA_DIR: dataDir,
          HOST: '127.0.0.1',
          PORT: String(port),
          APP_ID: '1',
          PRIVATE_KEY: testPrivateKey(),
          WEBHOOK_SECRET: 'token-cli-secret',
          DEVSYS_ROLE: 'receiver',
          REDELIVERY_INTERVAL_SECONDS: '0',
        },
        log: testLogger(),
      })
      const tasks = () =>
        httpRequest(`http://127.0.0.1:${port}/api/tasks`, {
          headers: { authorization: `Bearer ${token}` },
        })
      try {
        expect((await tasks()).status).toBe(200)
        const tokens = await httpRequest(`http://127.0.0.1:${port}/api/tokens`, {
          headers: { authorization: `Bearer ${token}` },
        })
        expect(tokens.status).toBe(403)

        const revoked = await devsys(['token', 'revoke', 'deployer'])
        expect(revoked.code, revoked.stderr).toBe(0)
        expect(revoked.stdout).toContain('revoked deployer (id 1)')
        expect((await tasks()).status).toBe(401)
      } finally {
        await server.stop()
      }
      const after = await devsys(['token', 'list'])
      expect(after.stdout).toMatch(/\trevoked \d{4}-/)
      expect(after.stdout).not.toContain('last-used=never')
    },
    SLOW,
  )

  it(
    'refuses a bad request, saying what to fix, and an unknown token to revoke',
    async () => {
      const bad = await devsys(['token', 'create', '--name', 'x y', '--role', 'root'])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain('"role" must be one of viewer, operator, admin')
      expect(bad.stderr).toContain('usage:')
      const missing = await devsys(['token', 'revoke', 'nobody'])
      expect(missing.code).toBe(1)
      expect(missing.stderr).toContain("no API token with id or name 'nobody'")
    },
    SLOW,
  )
})
