import { posix } from 'node:path'
import type { Client, SFTPWrapper, Stats } from 'ssh2'
import type { ReportFile } from '../types.js'
import type { WorkspaceEntry } from '../workspace-files.js'

/** Files uploaded at the same time (SFTP requests are pipelined on one connection). */
const PARALLEL_UPLOADS = 8

export function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp)))
  })
}

/**
 * Runs a fixed command line and collects its output (a few KiB at most are kept). Only for the
 * runner's own commands (mktemp, kill, rm), whose every path is quoted.
 */
export function execFixed(
  client: Client,
  command: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error)
      let stdout = ''
      let stderr = ''
      let code: number | null = null
      channel.on('data', (chunk: Buffer) => {
        if (stdout.length < 4096) stdout += chunk.toString('utf8')
      })
      channel.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 4096) stderr += chunk.toString('utf8')
      })
      channel.on('exit', (exitCode: number | null) => {
        code = exitCode
      })
      channel.on('close', () => resolve({ code, stdout, stderr }))
    })
  })
}

/** Copies workspace entries (parents first) from `root` into the remote folder `dir`. */
export async function uploadEntries(
  sftp: SFTPWrapper,
  root: string,
  entries: readonly WorkspaceEntry[],
  dir: string,
): Promise<void> {
  const files: Extract<WorkspaceEntry, { kind: 'file' }>[] = []
  const links: Extract<WorkspaceEntry, { kind: 'symlink' }>[] = []
  for (const entry of entries) {
    if (entry.kind === 'dir')
      await call<void>((cb) => sftp.mkdir(`${dir}/${entry.path}`, { mode: entry.mode | 0o700 }, cb))
    else if (entry.kind === 'file') files.push(entry)
    else links.push(entry)
  }
  let next = 0
  const worker = async (): Promise<void> => {
    for (let file = files[next++]; file !== undefined; file = files[next++]) {
      const { path, mode } = file
      await call<void>((cb) => sftp.fastPut(`${root}/${path}`, `${dir}/${path}`, { mode }, cb))
    }
  }
  await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, worker))
  for (const link of links) {
    await call<void>((cb) => sftp.symlink(link.target, `${dir}/${link.path}`, cb))
  }
}

/**
 * Downloads the report from the remote work folder: a regular file whose real path stays in
 * that folder, at most `maxBytes` of it. A missing file (or a link out) is `missing`.
 */
export async function downloadReport(
  sftp: SFTPWrapper,
  workDir: string,
  reportPath: string,
  maxBytes: number,
): Promise<ReportFile> {
  const real = await call<string>((cb) => sftp.realpath(`${workDir}/${reportPath}`, cb)).catch(
    () => undefined,
  )
  const realWork = await call<string>((cb) => sftp.realpath(workDir, cb))
  if (real === undefined || !real.startsWith(`${realWork}/`) || posix.normalize(real) !== real) {
    return { kind: 'missing' }
  }
  const info = await call<Stats>((cb) => sftp.lstat(real, cb)).catch(() => undefined)
  if (info === undefined || !info.isFile()) return { kind: 'missing' }
  if (info.size > maxBytes) return { kind: 'too-large', bytes: info.size }
  const chunks: Buffer[] = []
  let size = 0
  await new Promise<void>((resolve, reject) => {
    const stream = sftp.createReadStream(real, { start: 0, end: maxBytes })
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
    })
    stream.on('error', reject)
    stream.on('end', resolve)
  })
  if (size > maxBytes) return { kind: 'too-large', bytes: size }
  return { kind: 'found', xml: Buffer.concat(chunks) }
}

/** Calls a Node-style callback API and resolves with its result. */
function call<T>(
  start: (cb: (error: Error | null | undefined, value: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value)))
  })
}
