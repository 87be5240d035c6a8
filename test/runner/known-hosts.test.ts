import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findKnownKeys, hostKeyAlgorithms, keyBlobType } from '../../runner/ssh/known-hosts.js'
import { requireTool } from '../helpers/require-tool.js'

const run = promisify(execFile)
const hasKeygen = requireTool(
  'ssh-keygen',
  'known_hosts files are hashed with the real OpenSSH tool',
)

let dir: string
let keyA: string
let keyB: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devsys-kh-'))
  if (!hasKeygen) return
  const make = async (name: string) => {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)])
    return (await readFile(join(dir, `${name}.pub`), 'utf8')).split(' ').slice(0, 2).join(' ')
  }
  keyA = await make('a')
  keyB = await make('b')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const blob = (line: string) => Buffer.from(line.split(' ')[1] ?? '', 'base64')

describe.skipIf(!hasKeygen)('findKnownKeys', () => {
  it('matches plain names, [host]:port for other ports, and lists', () => {
    const text = [
      '# comment',
      '',
      `example.com,10.0.0.1 ${keyA} a comment`,
      `[example.com]:2222 ${keyB}`,
    ].join('\n')
    expect(findKnownKeys(text, 'example.com', 22).map((k) => k.key)).toEqual([blob(keyA)])
    expect(findKnownKeys(text, '10.0.0.1', 22)).toHaveLength(1)
    expect(findKnownKeys(text, 'example.com', 2222).map((k) => k.key)).toEqual([blob(keyB)])
    expect(findKnownKeys(text, 'example.org', 22)).toEqual([])
  })

  it('matches names hashed by ssh-keygen -H', async () => {
    const file = join(dir, 'known_hosts')
    await writeFile(file, `[127.0.0.1]:2222 ${keyA}\nexample.com ${keyB}\n`)
    await run('ssh-keygen', ['-H', '-f', file])
    const hashed = await readFile(file, 'utf8')
    expect(hashed).not.toContain('example.com')
    expect(findKnownKeys(hashed, '127.0.0.1', 2222)).toEqual([
      { type: 'ssh-ed25519', key: blob(keyA), revoked: false },
    ])
    expect(findKnownKeys(hashed, 'example.com', 22).map((k) => k.key)).toEqual([blob(keyB)])
    expect(findKnownKeys(hashed, '127.0.0.1', 22)).toEqual([])
  })

  it('supports wildcards and negations, marks @revoked and skips @cert-authority', () => {
    const text = [
      `*.example.com,!bad.example.com ${keyA}`,
      `@revoked host1.example.com ${keyB}`,
      `@cert-authority *.example.com ${keyB}`,
    ].join('\n')
    expect(findKnownKeys(text, 'host1.example.com', 22)).toEqual([
      { type: 'ssh-ed25519', key: blob(keyA), revoked: false },
      { type: 'ssh-ed25519', key: blob(keyB), revoked: true },
    ])
    expect(findKnownKeys(text, 'bad.example.com', 22)).toEqual([])
    expect(findKnownKeys(text, 'example.com', 22)).toEqual([])
  })

  it('reads the key type inside a key blob, and maps types to host key algorithms', () => {
    expect(keyBlobType(blob(keyA))).toBe('ssh-ed25519')
    expect(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ])
  })
})
