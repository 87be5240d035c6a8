import { describe, expect, it } from 'vitest'
import { parseJUnit } from '../../runner/junit/parse-junit.js'
import { IN_PROCESS_MAX_BYTES, parseJUnitReport } from '../../runner/junit/parse-junit-report.js'
import type { JUnitResult } from '../../runner/junit/types.js'

function reportOf(cases: number): Buffer {
  const rows = Array.from(
    { length: cases },
    (_, i) => `<testcase classname="Blog" name="case ${i}" time="0.001"/>`,
  )
  return Buffer.from(`<testsuite name="blog" tests="${cases}">${rows.join('')}</testsuite>`)
}

describe('parseJUnitReport', () => {
  it('parses a small report on the calling thread, as parseJUnit does, without a worker', async () => {
    const xml = reportOf(20)
    const workerCalls: number[] = []
    const inWorker = async (data: Uint8Array): Promise<JUnitResult> => {
      workerCalls.push(data.byteLength)
      return { ok: false, error: { code: 'empty', message: 'the worker was used' } }
    }
    const result = await parseJUnitReport(xml, { workspace: '/work' }, inWorker)
    expect(workerCalls).toEqual([])
    expect(result).toEqual(parseJUnit(reportOf(20), { workspace: '/work' }))
    expect(result.ok && result.report.tests).toBe(20)
  })

  it('hands a report over the in-process size to the parsing worker', async () => {
    const xml = reportOf(2000)
    expect(xml.byteLength).toBeGreaterThan(IN_PROCESS_MAX_BYTES)
    const workerCalls: number[] = []
    const inWorker = async (data: Uint8Array): Promise<JUnitResult> => {
      workerCalls.push(data.byteLength)
      return { ok: false, error: { code: 'empty', message: 'the worker was used' } }
    }
    const result = await parseJUnitReport(xml, {}, inWorker)
    expect(workerCalls).toEqual([xml.byteLength])
    expect(result).toMatchObject({ ok: false, error: { message: 'the worker was used' } })
  })

  it('gives the worker the same answer for a big report as parseJUnit', async () => {
    const result = await parseJUnitReport(reportOf(2000))
    expect(result).toEqual(parseJUnit(reportOf(2000)))
  })
})
