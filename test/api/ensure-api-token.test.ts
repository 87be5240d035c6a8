import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { apiTokenPath, ensureApiToken } from '../../src/api/ensure-api-token.js'
import { testLogger } from '../helpers/github.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'devsys-token-'))
  dirs.push(dir)
  return join(dir, 'data') // not there yet, as on a first start
}

describe('ensureApiToken', () => {
  it('generates a token on first start (mode 0600) and returns the same one afterwards', async () => {
    const dir = dataDir()
    const first = await ensureApiToken(dir, testLogger())
    expect(first).toMatch(/^[0-9a-f]{64}$/)
    expect(statSync(apiTokenPath(dir)).mode & 0o777).toBe(0o600)
    expect(readFileSync(apiTokenPath(dir), 'utf8')).toBe(`${first}\n`)
    expect(await ensureApiToken(dir, testLogger())).toBe(first)
  })

  it('narrows a token file others could read back to 0600', async () => {
    const dir = dataDir()
    const token = await ensureApiToken(dir, testLogger())
    chmodSync(apiTokenPath(dir), 0o644)
    expect(await ensureApiToken(dir, testLogger())).toBe(token)
    expect(statSync(apiTokenPath(dir)).mode & 0o777).toBe(0o600)
  })

  it('refuses a file too short to be a token, saying how to get a new one', async () => {
    const dir = dataDir()
    await ensureApiToken(dir, testLogger())
    writeFileSync(apiTokenPath(dir), 'short\n')
    await expect(ensureApiToken(dir, testLogger())).rejects.toThrow(
      /delete the file so DevSys generates a new one, or set MANAGER_API_TOKEN/,
    )
  })
})
