/** What the store contract suites share: a fixed start for their injected clocks, and a task. */
import type { NewTask } from '../../src/store/store.js'

/** Every suite's clock starts here; `at(ms)` is the ISO time `ms` after it. */
export const start = Date.parse('2026-03-01T10:00:00.000Z')
export const at = (ms: number) => new Date(start + ms).toISOString()

/** The task the suites store, from an issue of acme/shop; `overrides` change any field. */
export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: 'shop-api',
    title: 'Shop API',
    source: {
      kind: 'issue',
      repo: 'acme/shop',
      issue: 12,
      key: 'issue:acme/shop#12',
      requester: 'alice',
    },
    manifestText: '{"name":"shop-api"}',
    spec: 'name: shop-api\n',
    ...overrides,
  }
}
