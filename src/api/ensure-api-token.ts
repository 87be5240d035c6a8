import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'

/** Where DevSys keeps the manager API token it generated, inside DATA_DIR. */
export function apiTokenPath(dataDir: string): string {
  return join(dataDir, 'manager-api-token')
}

/**
 * The manager API token when MANAGER_API_TOKEN is unset: read from DATA_DIR/manager-api-token,
 * or generated (32 random bytes, hex) and written there with mode 0600 on first start. The API
 * never trusts a caller for being on this machine: a site DevSys serves on loopback is also on
 * this machine. Logs the file's path, never the token.
 */
export async function ensureApiToken(dataDir: string, log: Logger): Promise<string> {
  const path = apiTokenPath(dataDir)
  const existing = await readToken(path, log)
  if (existing !== undefined) return existing
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('hex')
  try {
    // `wx`: never overwrite a token another process wrote first; theirs wins.
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const theirs = await readToken(path, log)
    if (theirs !== undefined) return theirs
    throw error
  }
  log.info(
    { path },
    'generated a manager API token: send the contents of this file as "Authorization: Bearer <token>" (or set MANAGER_API_TOKEN)',
  )
  return token
}

/** The stored token, with its file narrowed to 0600 if someone widened it; undefined if none. */
async function readToken(path: string, log: Logger): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const token = text.trim()
  if (token.length < 16) {
    throw new Error(
      `${path} holds no manager API token (fewer than 16 characters); delete the file so DevSys generates a new one, or set MANAGER_API_TOKEN`,
    )
  }
  if (((await stat(path)).mode & 0o077) !== 0) {
    await chmod(path, 0o600)
    log.warn({ path }, 'the manager API token file was readable by others; set its mode to 0600')
  }
  log.info({ path }, 'manager API token read from this file')
  return token
}
