import type Dockerode from 'dockerode'
import { RunnerError } from '../types.js'
import { extractSingleFile } from './archive.js'

/**
 * The numeric uid and gid of the container's user (`name`, `uid` or `uid:gid`), looked up in
 * the image's own /etc/passwd: the workspace copied in must belong to that user so the tests
 * can write their report. (Docker's copyUIDGID looks names up on the host instead.)
 */
export async function resolveUser(
  container: Dockerode.Container,
  user: string,
): Promise<{ uid: number; gid: number }> {
  const [name = '', group] = user.split(':')
  if (name === '') return { uid: 0, gid: 0 }
  if (/^\d+$/.test(name) && (group === undefined || /^\d+$/.test(group))) {
    return { uid: Number(name), gid: Number(group ?? name) }
  }
  const passwd = await container
    .getArchive({ path: '/etc/passwd' })
    .then((archive) => extractSingleFile(archive, 1024 * 1024))
    .catch(() => ({ kind: 'missing' }) as const)
  const text = passwd.kind === 'found' ? passwd.xml.toString('utf8') : ''
  for (const line of text.split('\n')) {
    const [entry, , uid, gid] = line.split(':')
    if (entry === name && uid !== undefined && gid !== undefined) {
      return {
        uid: Number(uid),
        gid: group !== undefined && /^\d+$/.test(group) ? Number(group) : Number(gid),
      }
    }
  }
  throw new RunnerError(
    'container-failed',
    'docker',
    `The test image's user ${JSON.stringify(name)} is not in its /etc/passwd: create it in the image (useradd) or run as a numeric uid.`,
  )
}
