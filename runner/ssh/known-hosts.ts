import { createHmac } from 'node:crypto'

/** A host key from known_hosts. `key` is the key blob (SSH wire format, as ssh2 gives it). */
export interface KnownKey {
  type: string
  key: Buffer
  revoked: boolean
}

/**
 * The keys known_hosts text lists for `host` on `port`, in the OpenSSH format: patterns
 * separated by commas, `[host]:port` for ports other than 22, hashed `|1|salt|hash` names,
 * `*` and `?` wildcards and `!` negations; `@revoked` lines are returned marked, and
 * `@cert-authority` lines are skipped (certificates are not supported).
 */
export function findKnownKeys(text: string, host: string, port: number): KnownKey[] {
  const name = port === 22 ? host : `[${host}]:${port}`
  const keys: KnownKey[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    let revoked = false
    if (fields[0]?.startsWith('@')) {
      if (fields[0] === '@cert-authority') continue
      revoked = fields[0] === '@revoked'
      fields.shift()
    }
    const [patterns, type, base64] = fields
    if (patterns === undefined || type === undefined || base64 === undefined) continue
    if (!hostMatches(patterns, name)) continue
    keys.push({ type, key: Buffer.from(base64, 'base64'), revoked })
  }
  return keys
}

function hostMatches(patterns: string, name: string): boolean {
  let matched = false
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('|1|')) {
      if (hashedMatches(pattern, name)) matched = true
    } else if (pattern.startsWith('!')) {
      if (wildcardMatches(pattern.slice(1), name)) return false
    } else if (wildcardMatches(pattern, name)) {
      matched = true
    }
  }
  return matched
}

/** `|1|salt|hash`: HMAC-SHA1 of the host name keyed by the salt, both base64. */
function hashedMatches(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split('|')
  if (salt === undefined || hash === undefined) return false
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
  return digest === hash
}

function wildcardMatches(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.')
  return new RegExp(`^${source}$`).test(name.toLowerCase())
}

/** The key type named inside a key blob (its first SSH string). */
export function keyBlobType(blob: Buffer): string {
  if (blob.length < 4) return ''
  const length = blob.readUInt32BE(0)
  return blob.subarray(4, 4 + length).toString('latin1')
}

/** Host key algorithms ssh2 may negotiate to get one of these key types. */
export function hostKeyAlgorithms(types: readonly string[]): string[] {
  const algorithms = new Set<string>()
  for (const type of types) {
    if (type === 'ssh-rsa')
      for (const a of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) algorithms.add(a)
    else algorithms.add(type)
  }
  return [...algorithms]
}
