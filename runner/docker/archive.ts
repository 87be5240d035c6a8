import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import type { ReportFile } from '../types.js'
import type { WorkspaceEntry } from '../workspace-files.js'

/**
 * Packs workspace entries into a tar stream under one top folder `dir`, for Docker's
 * putArchive. Files are streamed one after another, so memory stays small for big workspaces.
 */
export function packWorkspace(
  root: string,
  entries: readonly WorkspaceEntry[],
  dir: string,
  owner: { uid: number; gid: number },
): NodeJS.ReadableStream {
  const pack = tar.pack()
  // Docker keeps the owner of each entry, so the files belong to the user the tests run as.
  const common = { mtime: new Date(), uid: owner.uid, gid: owner.gid }
  const fill = async (): Promise<void> => {
    pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, ...common })
    for (const entry of entries) {
      const name = `${dir}/${entry.path}`
      if (entry.kind === 'dir') {
        // Folders stay writable by their owner: tests write reports and caches into them.
        pack.entry({ name: `${name}/`, type: 'directory', mode: entry.mode | 0o700, ...common })
      } else if (entry.kind === 'symlink') {
        pack.entry({ name, type: 'symlink', linkname: entry.target, mode: 0o777, ...common })
      } else {
        const sink = pack.entry({
          name,
          type: 'file',
          size: entry.size,
          mode: entry.mode,
          ...common,
        })
        await pipeline(createReadStream(join(root, entry.path)), sink)
      }
    }
    pack.finalize()
  }
  fill().catch((error: unknown) => pack.destroy(error as Error))
  return pack
}

/**
 * Reads the one file of a tar stream from Docker's getArchive. Anything but a regular file (a
 * folder, or a symlink a test put at the report path) counts as no report; at most `maxBytes`
 * of it are kept, and the stream is destroyed as soon as the answer is known.
 */
export function extractSingleFile(
  archive: NodeJS.ReadableStream,
  maxBytes: number,
): Promise<ReportFile> {
  return new Promise<ReportFile>((resolve, reject) => {
    const extract = tar.extract()
    let settled = false
    const finish = (result: ReportFile): void => {
      if (settled) return
      settled = true
      resolve(result)
      extract.destroy()
      ;(archive as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.()
    }
    extract.on('entry', (header, stream, next) => {
      if (header.type !== 'file') {
        stream.resume()
        finish({ kind: 'missing' })
        return
      }
      const size = header.size ?? 0
      if (size > maxBytes) {
        stream.resume()
        finish({ kind: 'too-large', bytes: size })
        return
      }
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        finish({ kind: 'found', xml: Buffer.concat(chunks) })
        next()
      })
    })
    extract.on('finish', () => finish({ kind: 'missing' }))
    extract.on('error', (error) => {
      if (!settled) reject(error)
    })
    archive.on('error', (error: Error) => {
      if (!settled) reject(error)
    })
    archive.pipe(extract)
  })
}
