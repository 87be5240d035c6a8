import { constants } from 'node:fs'
import { type FileHandle, open, realpath } from 'node:fs/promises'
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
    // Sized to the file, so that the Buffer owns its memory whole and parseJUnitInWorker moves
    // it to the worker instead of copying it (a 200 MiB report would be held twice).
    const buffer = Buffer.allocUnsafeSlow(info.size)
    const length = await readInto(file, buffer, 0)
    if (length < info.size) return { kind: 'found', xml: buffer.subarray(0, length) }
    if ((await readInto(file, Buffer.alloc(1), length)) === 0) return { kind: 'found', xml: buffer }
    // It grew after the stat: read it again, up to one byte past the limit.
    const grown = Buffer.alloc(maxBytes + 1)
    const total = await readInto(file, grown, 0)
    if (total > maxBytes) return { kind: 'too-large', bytes: total }
    return { kind: 'found', xml: grown.subarray(0, total) }
  } finally {
    await file.close()
  }
}

/** Reads from `position` until `buffer` is full or the file ends; the bytes read. */
async function readInto(file: FileHandle, buffer: Buffer, position: number): Promise<number> {
  let length = 0
  while (length < buffer.length) {
    const { bytesRead } = await file.read(buffer, length, buffer.length - length, position + length)
    if (bytesRead === 0) break
    length += bytesRead
  }
  return length
}
