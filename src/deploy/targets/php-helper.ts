import type { Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import type Dockerode from 'dockerode'
import { PHP_HELPER_VERBS } from './php-scripts.js'
import { helperMarkers, helperScript, type ShellHelper, wrapHelper } from './shell-helper.js'

/**
 * Starts the php target's helper in its container: one `docker exec` of a fixed `sh` script
 * with stdin attached, kept for the container's life, which runs the target's scripts
 * (php-scripts.ts) on request. A switch is then one request on an open stream instead of a
 * Docker exec (create, start, inspect: about 50 ms).
 */
export async function startPhpHelper(
  docker: Dockerode,
  container: Dockerode.Container,
): Promise<ShellHelper> {
  const markers = helperMarkers()
  const exec = await container.exec({
    Cmd: ['sh', '-c', helperScript(PHP_HELPER_VERBS, markers)],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  })
  const stream = await exec.start({ hijack: true, stdin: true })
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  docker.modem.demuxStream(stream, stdout, stderr)
  stderr.resume()
  stream.on('error', () => undefined)
  // The engine's connection stays open with the helper; between requests it must not keep a
  // process alive that is otherwise done (a target nobody closed, a one-off script).
  const socket = stream as Partial<Pick<Socket, 'ref' | 'unref'>>
  socket.unref?.()
  return wrapHelper(
    {
      write: (text) => stream.write(text),
      close: () => stream.destroy(),
      onData: (listener) => stdout.on('data', listener),
      onClose: (listener) => {
        stream.once('end', listener)
        stream.once('close', listener)
      },
      busy: (working) => (working ? socket.ref?.() : socket.unref?.()),
    },
    markers,
  )
}
