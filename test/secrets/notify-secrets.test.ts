import { afterEach, describe, expect, it } from 'vitest'
import { loadEnv } from '../../src/config/load-env.js'
import { forgetSecrets, redact } from '../../src/secrets/redact.js'
import { registerConfigSecrets } from '../../src/secrets/register-config-secrets.js'

afterEach(() => {
  forgetSecrets()
})

describe('notification secrets', () => {
  it('the webhook secret, the Slack webhook token and the SMTP password are redacted everywhere', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    const loaded = loadEnv({
      NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/devsys',
      NOTIFY_WEBHOOK_SECRET: secret,
      NOTIFY_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0AAA/B0BBB/xoxbSlackToken123',
      NOTIFY_SMTP_URL: 'smtps://devsys:mail-Passw0rd-9@smtp.example.com:465',
      NOTIFY_EMAIL_FROM: 'devsys@example.com',
      NOTIFY_EMAIL_TO: 'ops@example.com',
    })
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
    expect(registerConfigSecrets(loaded.config)).toEqual([])
    const text = `sent with ${secret} to /services/T0AAA/B0BBB/xoxbSlackToken123 as mail-Passw0rd-9`
    const redacted = redact(text)
    expect(redacted).not.toContain(secret)
    expect(redacted).not.toContain('xoxbSlackToken123')
    expect(redacted).not.toContain('mail-Passw0rd-9')
  })
})
