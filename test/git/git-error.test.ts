import { describe, expect, it } from 'vitest'
import { authEnv, authSecrets, gitEnv } from '../../src/git/git-env.js'
import { GitError, scrubSecrets, toGitError } from '../../src/git/git-error.js'

const TOKEN = 'plain-secret-value-123'
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64')

describe('toGitError', () => {
  it('says what failed and what to do, with the token and its base64 form removed', () => {
    const raw = new Error(
      `fatal: unable to access 'https://x-access-token:${TOKEN}@github.com/o/r.git/': 403\n` +
        `hint: header was AUTHORIZATION: basic ${BASIC}\n` +
        `trace: Authorization: Basic ${BASIC} and ${TOKEN} and ghs_abcdefghijklmnopqrstuvwxyz0123456789`,
    )
    const error = toGitError(raw, {
      code: 'fetch-failed',
      repo: 'o/r',
      what: 'update o/r',
      hint: 'Reinstall the app.',
      secrets: authSecrets({ token: TOKEN }),
    })
    expect(error).toBeInstanceOf(GitError)
    expect(error).toMatchObject({ code: 'fetch-failed', repo: 'o/r', name: 'GitError' })
    expect(error.message).toMatch(
      /^Could not update o\/r: fatal: unable to access .*Reinstall the app\.$/,
    )
    expect(error.message).not.toContain(TOKEN)
    expect(error.message).not.toContain(BASIC)
    expect(error.message).not.toContain('ghs_')
    expect(error.message).not.toContain('hint:')
    expect(error.cause).toBeUndefined()
  })

  it('passes GitErrors through and turns aborts into code aborted', () => {
    const original = new GitError('push-rejected', 'o/r', 'moved')
    const failure = {
      code: 'push-failed' as const,
      repo: 'o/r',
      what: 'push',
      hint: '',
      secrets: [],
    }
    expect(toGitError(original, failure)).toBe(original)
    const aborted = toGitError(new Error('killed'), { ...failure, signal: AbortSignal.abort() })
    expect(aborted).toMatchObject({ code: 'aborted', repo: 'o/r' })
    expect(aborted.message).toMatch(/cancelled or ran out of time/)
  })

  it('scrubs Authorization header values even when the token is not known', () => {
    expect(scrubSecrets('AUTHORIZATION: basic abc123==', [])).toBe(
      'AUTHORIZATION: basic [redacted]',
    )
    expect(scrubSecrets('authorization: Bearer xyz', [])).toBe('authorization: Bearer [redacted]')
  })
})

describe('git environment', () => {
  it('passes only the allow-listed variables and never prompts', () => {
    process.env.GIT_DIR = '/elsewhere'
    process.env.GIT_ASKPASS = '/bin/evil'
    try {
      const env = gitEnv({ EXTRA: '1' })
      expect(env).toMatchObject({ GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', EXTRA: '1' })
      expect(env.PATH).toBe(process.env.PATH)
      expect(env).not.toHaveProperty('GIT_DIR')
      expect(env).not.toHaveProperty('GIT_ASKPASS')
    } finally {
      delete process.env.GIT_DIR
      delete process.env.GIT_ASKPASS
    }
  })

  it('scopes the Authorization header to the clone URL origin, and adds none for local paths or no auth', () => {
    expect(authEnv('https://github.com/o/r.git', { token: TOKEN })).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://github.com/.extraheader',
      GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${BASIC}`,
    })
    expect(authEnv('/srv/git/o/r.git', { token: TOKEN })).toEqual({})
    expect(authEnv('https://github.com/o/r.git', undefined)).toEqual({})
  })
})
