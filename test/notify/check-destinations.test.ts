import { describe, expect, it } from 'vitest'
import { loadEnv } from '../../src/config/load-env.js'
import { checkDestinations } from '../../src/notify/check-destinations.js'

const SECRET = `whsec_${Buffer.from('devsys-notify-test-secret-32-byt').toString('base64')}`

function notifyEnv(env: Record<string, string>) {
  const loaded = loadEnv(env)
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  return loaded.config.notify
}

describe('checkDestinations (at start)', () => {
  it('refuses destinations on loopback and private networks, naming the variable and host only', async () => {
    const notify = notifyEnv({
      NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:3000/api/tasks?token=abc',
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_SLACK_WEBHOOK_URL: 'https://10.0.0.5/services/T0/B0/slack-token',
      NOTIFY_SMTP_URL: 'smtp://user:pw@192.168.0.2:25',
      NOTIFY_EMAIL_FROM: 'devsys@example.com',
      NOTIFY_EMAIL_TO: 'ops@example.com',
    })
    const { errors, warnings } = await checkDestinations(notify)
    expect(warnings).toEqual([])
    expect(errors).toEqual([
      'NOTIFY_WEBHOOK_URL: refused: 127.0.0.1 is a loopback address; notification destinations must be public, or listed in NOTIFY_ALLOWED_HOSTS',
      'NOTIFY_SLACK_WEBHOOK_URL: refused: 10.0.0.5 is a private network address; notification destinations must be public, or listed in NOTIFY_ALLOWED_HOSTS',
      'NOTIFY_SMTP_URL: refused: 192.168.0.2 is a private network address; notification destinations must be public, or listed in NOTIFY_ALLOWED_HOSTS',
    ])
    expect(errors.join('\n')).not.toMatch(/token|pw@/)
  })

  it('accepts what NOTIFY_ALLOWED_HOSTS lists, and public hosts; an unresolvable host is a warning', async () => {
    const notify = notifyEnv({
      NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9000/hook',
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/x',
      NOTIFY_ALLOWED_HOSTS: '127.0.0.1',
    })
    const resolve = async (host: string) => {
      if (host === 'hooks.slack.example') return [{ address: '93.184.215.14', family: 4 }]
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
    }
    expect(await checkDestinations(notify, resolve)).toEqual({ errors: [], warnings: [] })
    const missing = notifyEnv({ NOTIFY_SLACK_WEBHOOK_URL: 'https://nowhere.example/x' })
    const { errors, warnings } = await checkDestinations(missing, resolve)
    expect(errors).toEqual([])
    expect(warnings).toEqual([
      'NOTIFY_SLACK_WEBHOOK_URL: host nowhere.example not found (ENOTFOUND); the slack destination is tried at each send',
    ])
  })
})
