import { describe, expect, it } from 'vitest'
import { redactSecrets } from '../../src/report/redact.js'

describe('redactSecrets', () => {
  it('removes GitHub tokens, private keys and URL credentials, and keeps the rest', () => {
    const text = [
      'clone failed for https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz012345@github.com/o/r.git',
      'token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 and github_pat_11ABCDEFG0123456789_abcdefghijklmnop',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
      'plain words stay',
    ].join('\n')
    const redacted = redactSecrets(text)
    expect(redacted).not.toMatch(/ghs_|ghp_|github_pat_|MIIEpA|x-access-token/)
    expect(redacted).toContain('https://[redacted]@github.com/o/r.git')
    expect(redacted).toContain('[redacted private key]')
    expect(redacted).toContain('plain words stay')
  })
})
