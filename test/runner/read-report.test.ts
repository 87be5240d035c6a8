import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { afterEach, expect, it } from 'vitest'
import { readLocalReport } from '../../runner/local/read-report.js'

let dir: string | undefined
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

it('reads a report into a Buffer that owns its memory whole, so the parser can take it over', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'devsys-read-report-'))
  const content = Buffer.from(`<testsuites>${'<testcase name="x"/>'.repeat(10_000)}</testsuites>`)
  await writeFile(path.join(dir, 'junit.xml'), content)
  const report = await readLocalReport(dir, 'junit.xml', 200 * 2 ** 20, pino({ level: 'silent' }))
  expect(report.kind).toBe('found')
  if (report.kind !== 'found') return
  expect(report.xml.equals(content)).toBe(true)
  expect(report.xml.byteOffset).toBe(0)
  expect(report.xml.buffer.byteLength).toBe(content.length)
})
