import { afterEach, describe, expect, it } from 'vitest'
import { forgetSecrets, redact, redactDeep, registerSecret } from '../../src/secrets/redact.js'
import { testPrivateKey } from '../helpers/github.js'

afterEach(() => {
  forgetSecrets()
})

describe('redact', () => {
  it('removes GitHub tokens, private keys and URL credentials, and keeps the rest', () => {
    const text = [
      'clone failed for https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz012345@github.com/o/r.git',
      'token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 and github_pat_11ABCDEFG0123456789_abcdefghijklmnop',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
      'plain words stay',
    ].join('\n')
    const redacted = redact(text)
    expect(redacted).not.toMatch(/ghs_|ghp_|github_pat_|MIIEpA|x-access-token/)
    expect(redacted).toContain('https://[redacted]@github.com/o/r.git')
    expect(redacted).toContain('[redacted private key]')
    expect(redacted).toContain('plain words stay')
  })

  it("removes DevSys's own named API tokens (dsy_), whatever surrounds them", () => {
    const token = 'dsy_Ab-_0123456789abcdefghijklmnopqrstuvwxyzABCDE'
    for (const text of [`Bearer ${token}`, `"${token}"`, `x=${token}-`, `${token}\n`]) {
      const redacted = redact(text)
      expect(redacted).not.toContain(token.slice(4, 20))
      expect(redacted).toContain('[redacted token]')
    }
    // A word that merely starts like one stays.
    expect(redact('dsy_short')).toBe('dsy_short')
  })

  it('removes a registered value however it was written: as is, JSON-escaped, URL-encoded, base64', () => {
    const secret = 'we/bhook "secret" +42'
    registerSecret(secret)
    const forms = [
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
    ]
    for (const form of forms) {
      expect(redact(`before ${form} after`)).toBe('before [redacted] after')
    }
  })

  it('removes every line of a registered PEM key, wherever output puts it', () => {
    const pem = testPrivateKey()
    registerSecret(pem)
    const lines = pem.trim().split('\n')
    const body = lines.slice(1, -1)
    // A line quoted in a stack trace, the body unwrapped, the key with escaped newlines.
    const text = [
      `    at read (key.js:1) "${body[3]}"`,
      body.join(''),
      pem.replaceAll('\n', '\\n'),
      Buffer.from(pem).toString('base64'),
    ].join('\n')
    const redacted = redact(text)
    for (const line of body) {
      if (line.length >= 8) expect(redacted).not.toContain(line)
    }
    expect(redacted).toContain('at read (key.js:1) "[redacted]"')
  })

  it('leaves values shorter than 8 characters alone, so ordinary text is not mangled', () => {
    expect(registerSecret('abc1234')).toBe(false)
    expect(redact('abc1234 stays')).toBe('abc1234 stays')
  })

  it('forgets a value after the time it was registered until', () => {
    registerSecret('short-lived-installation-token', { until: Date.now() - 1 })
    registerSecret('long-lived-webhook-secret')
    expect(redact('short-lived-installation-token long-lived-webhook-secret')).toBe(
      'short-lived-installation-token [redacted]',
    )
  })
})

describe('redactDeep', () => {
  it('redacts every string of plain objects and arrays without changing the original', () => {
    registerSecret('manager-api-token-0123456789')
    const original = {
      summary: 'token manager-api-token-0123456789',
      cases: [{ message: ['manager-api-token-0123456789'] }],
      count: 3,
      at: new Date(0),
    }
    const copy = redactDeep(original)
    expect(copy).toEqual({
      summary: 'token [redacted]',
      cases: [{ message: ['[redacted]'] }],
      count: 3,
      at: new Date(0),
    })
    expect(original.summary).toBe('token manager-api-token-0123456789')
  })
})
