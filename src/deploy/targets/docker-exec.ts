import { PassThrough } from 'node:stream'
import type Dockerode from 'dockerode'

/**
 * Runs argv in a running container (no shell unless argv asks for one, and then every path is
 * a positional argument, never text in the script) and collects its demuxed output.
 */
export async function execInContainer(
  docker: Dockerode,
  container: Dockerode.Container,
  argv: string[],
  maxOutput = 64 * 1024 * 1024,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true })
  const stream = await exec.start({ hijack: true, stdin: false })
  let stdout = ''
  let stderr = ''
  const out = new PassThrough()
  const err = new PassThrough()
  out.on('data', (chunk: Buffer) => {
    if (stdout.length < maxOutput) stdout += chunk.toString('utf8')
  })
  err.on('data', (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString('utf8')
  })
  await new Promise<void>((resolve, reject) => {
    docker.modem.demuxStream(stream, out, err)
    stream.once('end', resolve)
    stream.once('close', resolve)
    stream.once('error', reject)
  })
  const info = await exec.inspect()
  return { code: info.ExitCode ?? null, stdout, stderr }
}
