/**
 * Official webhook payloads from @octokit/webhooks-examples, with the `installation` GitHub adds
 * to App deliveries, and signing as GitHub does it.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { EmitterWebhookEvent, EmitterWebhookEventName } from '@octokit/webhooks'
import { sign } from '@octokit/webhooks-methods'

/** The installation id every example payload carries. */
export const TEST_INSTALLATION_ID = 1234

interface ExampleGroup {
  name: string
  actions: string[]
  examples: Record<string, unknown>[]
}

/** Event names without an action, e.g. `issues`, `push`. */
export type WebhookEvent = Exclude<EmitterWebhookEventName, `${string}.${string}`>
/** Actions GitHub sends for `E`, e.g. `labeled` for `issues`. */
export type WebhookAction<E extends WebhookEvent> = EmitterWebhookEventName extends infer N
  ? N extends `${E}.${infer A}`
    ? A
    : never
  : never
type Installation = { installation: { id: number; node_id: string } }
/** The payload type for `issues` or `issues.labeled`, with an installation. */
export type PayloadOf<N extends EmitterWebhookEventName> = EmitterWebhookEvent<N>['payload'] &
  Installation

let groups: ExampleGroup[] | undefined

function exampleGroups(): ExampleGroup[] {
  if (!groups) {
    const require = createRequire(import.meta.url)
    const file = require.resolve('@octokit/webhooks-examples/api.github.com/index.json')
    groups = JSON.parse(readFileSync(file, 'utf8')) as ExampleGroup[]
  }
  return groups
}

function findExample(event: string, action: string | undefined): Record<string, unknown> {
  const group = exampleGroups().find((g) => g.name === event)
  if (!group) {
    throw new Error(
      `No webhook example for event "${event}" in @octokit/webhooks-examples; check the event name`,
    )
  }
  const example = group.examples.find((e) => action === undefined || e.action === action)
  if (!example) {
    const actions = [...new Set(group.examples.map((e) => String(e.action)))].join(', ')
    throw new Error(
      `No webhook example for "${event}.${action}" in @octokit/webhooks-examples (examples exist for: ${actions}); write a fixture under test/fixtures/ instead`,
    )
  }
  return example
}

/**
 * A deep copy of the first official example for `event` (and `action`), with
 * `installation.id` = TEST_INSTALLATION_ID; `patch` may edit it in place.
 */
export function examplePayload<E extends WebhookEvent, A extends WebhookAction<E>>(
  event: E,
  action: A,
  patch?: (payload: NoInfer<PayloadOf<Extract<`${E}.${A}`, EmitterWebhookEventName>>>) => void,
): PayloadOf<Extract<`${E}.${A}`, EmitterWebhookEventName>>
export function examplePayload<E extends WebhookEvent>(
  event: E,
  action?: undefined,
  patch?: (payload: NoInfer<PayloadOf<E>>) => void,
): PayloadOf<E>
export function examplePayload(
  event: string,
  action?: string,
  patch?: (payload: never) => void,
): Record<string, unknown> {
  const payload = structuredClone(findExample(event, action))
  payload.installation = {
    id: TEST_INSTALLATION_ID,
    node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMTIzNA==',
  }
  ;(patch as ((p: unknown) => void) | undefined)?.(payload)
  return payload
}

/**
 * A whole event for `probot.receive()` with a fresh delivery id, e.g.
 * `exampleEvent('issues.labeled', (p) => { if (p.label) p.label.name = 'devsys' })`.
 */
export function exampleEvent<N extends EmitterWebhookEventName>(
  name: N,
  patch?: (payload: NoInfer<PayloadOf<N>>) => void,
): EmitterWebhookEvent<N> & { payload: PayloadOf<N> } {
  const [event = '', action] = name.split('.')
  const payload = (examplePayload as (e: string, a?: string, p?: (x: never) => void) => unknown)(
    event,
    action,
    patch as ((x: never) => void) | undefined,
  )
  // The one unchecked cast: the example file is typed by name, not by `${event}.${action}`.
  return { id: randomUUID(), name: event, payload } as unknown as EmitterWebhookEvent<N> & {
    payload: PayloadOf<N>
  }
}

/** The `X-Hub-Signature-256` value GitHub would send for `body` signed with `secret`. */
export async function signPayload(secret: string, body: string): Promise<string> {
  return sign(secret, body)
}
