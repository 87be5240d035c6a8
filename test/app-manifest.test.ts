import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { subscriptions } from '../src/webhooks/index.js'

const manifest = parse(readFileSync(new URL('../app.yml', import.meta.url), 'utf8')) as Record<
  string,
  unknown
>

describe('app.yml', () => {
  it('subscribes to exactly the events DevSys handles', () => {
    const handled = new Set(subscriptions.flatMap((s) => s.events.map((e) => e.split('.')[0])))
    expect(new Set(manifest.default_events as string[])).toEqual(handled)
  })

  it('asks for the least privilege DevSys needs and nothing else', () => {
    expect(manifest.default_permissions).toEqual({
      issues: 'write',
      pull_requests: 'write',
      contents: 'write',
      checks: 'write',
      deployments: 'write',
      metadata: 'read',
    })
  })

  it('is a complete GitHub App manifest', () => {
    for (const field of ['name', 'description', 'url']) {
      expect(typeof manifest[field], field).toBe('string')
      expect((manifest[field] as string).length, field).toBeGreaterThan(0)
    }
    // Probot fills in the webhook URL with the server's address during registration.
    expect(manifest.hook_attributes).toBeUndefined()
  })
})
