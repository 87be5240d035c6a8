import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/queue/backoff.js'

describe('backoffDelay', () => {
  const backoff = { baseMs: 1000, maxMs: 60_000 }

  it('doubles per attempt, with jitter between half and all of the step', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, backoff, () => 0))).toEqual([
      500, 1000, 2000, 4000,
    ])
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, backoff, () => 1))).toEqual([
      1000, 2000, 4000, 8000,
    ])
  })

  it('never exceeds maxMs, even after many attempts', () => {
    expect(backoffDelay(7, backoff, () => 1)).toBe(60_000)
    expect(backoffDelay(1000, backoff, () => 1)).toBe(60_000)
    expect(backoffDelay(1000, backoff, () => 0)).toBe(30_000)
  })
})
