import { describe, expect, it } from 'vitest'
import type { ApiTokenStore, NewApiToken } from '../../src/store/store.js'
import { at } from './fixtures.js'
import { type StoreImplementation, storeImplementations, useStore } from './implementations.js'

const HASH = 'a'.repeat(64)

function newToken(overrides: Partial<NewApiToken> = {}): NewApiToken {
  return {
    name: 'ci',
    role: 'operator',
    repos: ['acme/*'],
    environments: ['staging', 'review-*'],
    createdBy: 'manager-api',
    expiresAt: at(86_400_000),
    hash: HASH,
    ...overrides,
  }
}

/** The ApiTokenStore part: named tokens, kept by hash. */
function apiTokenStoreContract(impl: StoreImplementation) {
  const s = useStore<ApiTokenStore>(impl)

  it('creates a token and finds it by its hash, with every field', async () => {
    const created = await s.store.createApiToken(newToken())
    const expected = {
      id: expect.any(Number),
      name: 'ci',
      role: 'operator',
      repos: ['acme/*'],
      environments: ['staging', 'review-*'],
      createdBy: 'manager-api',
      createdAt: at(0),
      expiresAt: at(86_400_000),
      lastUsedAt: null,
      revokedAt: null,
    }
    expect(created).toEqual({ kind: 'created', token: expected })
    expect(await s.store.findApiTokenByHash(HASH)).toEqual(expected)
    expect(await s.store.findApiTokenByHash('b'.repeat(64))).toBeUndefined()
    expect(await s.handle.reopen().then((s) => s.listApiTokens())).toEqual([expected])
  })

  it('refuses a second token with the same name, revoked or not', async () => {
    const first = await s.store.createApiToken(newToken())
    if (first.kind !== 'created') throw new Error('not created')
    await s.store.revokeApiToken(first.token.id)
    expect(await s.store.createApiToken(newToken({ hash: 'c'.repeat(64) }))).toEqual({
      kind: 'name-taken',
    })
    expect(await s.store.listApiTokens()).toHaveLength(1)
  })

  it('lists tokens oldest first, and records use and revocation times', async () => {
    const a = await s.store.createApiToken(newToken({ name: 'a', hash: '1'.repeat(64) }))
    const b = await s.store.createApiToken(
      newToken({ name: 'b', hash: '2'.repeat(64), role: 'viewer', expiresAt: null }),
    )
    if (a.kind !== 'created' || b.kind !== 'created') throw new Error('not created')
    s.now += 5000
    await s.store.touchApiToken(a.token.id)
    s.now += 5000
    const revoked = await s.store.revokeApiToken(b.token.id)
    expect(revoked?.revokedAt).toBe(at(10_000))
    s.now += 5000
    // Revoking again keeps the first time.
    expect((await s.store.revokeApiToken(b.token.id))?.revokedAt).toBe(at(10_000))
    expect(await s.store.revokeApiToken(9999)).toBeUndefined()
    const listed = await s.store.listApiTokens()
    expect(listed.map((x) => [x.name, x.lastUsedAt, x.revokedAt, x.expiresAt])).toEqual([
      ['a', at(5000), null, at(86_400_000)],
      ['b', null, at(10_000), null],
    ])
  })

  it('keeps only the hash: no column holds anything but what it was given', async () => {
    await s.store.createApiToken(newToken())
    const rows = await s.handle.sql('SELECT * FROM api_tokens')
    expect(rows).toHaveLength(1)
    expect(rows[0]?.hash).toBe(HASH)
  })
}

describe.each(storeImplementations)('ApiTokenStore: $name', apiTokenStoreContract)
