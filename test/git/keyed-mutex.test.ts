import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { createKeyedMutex } from '../../src/git/keyed-mutex.js'
import { deferred } from './support.js'

describe('createKeyedMutex', () => {
  it('runs work with the same key one at a time, in call order, and different keys at once', async () => {
    const mutex = createKeyedMutex()
    const events: string[] = []
    const job = (key: string, name: string, ms: number) =>
      mutex.run(key, async () => {
        events.push(`start ${name}`)
        await sleep(ms)
        events.push(`end ${name}`)
        return name
      })
    const results = await Promise.all([job('a', 'a1', 30), job('a', 'a2', 5), job('b', 'b1', 5)])
    expect(results).toEqual(['a1', 'a2', 'b1'])
    expect(events.indexOf('end a1')).toBeLessThan(events.indexOf('start a2'))
    expect(events.indexOf('start b1')).toBeLessThan(events.indexOf('end a1'))
    expect(mutex.size).toBe(0)
  })

  it('lets the next holder in after a holder throws', async () => {
    const mutex = createKeyedMutex()
    const boom = new Error('boom')
    const first = mutex.run('k', async () => {
      throw boom
    })
    const second = mutex.run('k', async () => 'ok')
    await expect(first).rejects.toBe(boom)
    await expect(second).resolves.toBe('ok')
  })

  it('gives up waiting on abort without running fn, and keeps later holders waiting for the first', async () => {
    const mutex = createKeyedMutex()
    const gate = deferred()
    const events: string[] = []
    const first = mutex.run('k', async () => {
      await gate.promise
      events.push('first done')
    })
    const controller = new AbortController()
    let ranSecond = false
    const second = mutex.run(
      'k',
      async () => {
        ranSecond = true
      },
      controller.signal,
    )
    const third = mutex.run('k', async () => {
      events.push('third')
    })
    controller.abort(new Error('job cancelled'))
    await expect(second).rejects.toThrow('job cancelled')
    await sleep(10)
    expect(events).toEqual([])
    gate.resolve()
    await Promise.all([first, third])
    expect(events).toEqual(['first done', 'third'])
    expect(ranSecond).toBe(false)
    expect(mutex.size).toBe(0)
  })

  it('refuses at once when the signal is already aborted', async () => {
    const mutex = createKeyedMutex()
    await expect(mutex.run('k', async () => 1, AbortSignal.abort())).rejects.toThrow()
    expect(mutex.size).toBe(0)
  })
})
