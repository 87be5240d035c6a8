import { constants } from 'node:fs'
import { open, realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'
import type { Logger } from 'pino'
import type { ReportFile } from '../types.js'

/**
 * Reads the JUnit report a local run left in its run directory. The report may be a symlink
 * only to a file inside that directory: a test must not be able to make DevSys read (and
 * publish in a check run) a file of the DevSys host. At most `maxBytes` are read.
 */
export async function readLocalReport(
  runDir: string,
  reportPath: string,
  maxBytes: number,
  log: Logger,
): Promise<ReportFile> {
  let real: string
  try {
    real = await realpath(join(runDir, reportPath))
  } catch {
    return { kind: 'missing' }
  }
  const rel = relative(await realpath(runDir), real)
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    log.warn({ reportPath }, 'the JUnit report is a link to a file outside the run; ignored')
    return { kind: 'missing' }
  }
  // O_NOFOLLOW: the path was resolved above, so a link appearing now is refused, not followed.
  const file = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined)
  if (file === undefined) return { kind: 'missing' }
  try {
    const info = await file.stat()
    if (!info.isFile()) return { kind: 'missing' }
    if (info.size > maxBytes) return { kind: 'too-large', bytes: info.size }
    // Read one byte more than allowed, in case the file grew after the stat.
    const buffer = Buffer.alloc(maxBytes + 1)
    let length = 0
    while (length < buffer.length) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    if (length > maxBytes) return { kind: 'too-large', bytes: length }
    return { kind: 'found', xml: buffer.subarray(0, length) }
  } finally {
    await file.close()
  }
}
