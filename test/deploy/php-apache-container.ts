import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import Dockerode from 'dockerode'
import { PHP_TARGET_LABEL } from '../../src/deploy/targets/php-target.js'
import { freePort, requireDocker } from '../helpers/services.js'

const run = promisify(execFile)
export const PHP_APACHE_IMAGE = 'devsys/php-apache:2'

/**
 * Whether the php target's image can be used: when the engine answers but the image is missing,
 * it is built with runner/docker/build-images.sh first (no registry needed); then the usual
 * rule of requireDocker (fail under CI=true, skip with the reason elsewhere).
 */
export async function requirePhpApacheImage(why: string): Promise<boolean> {
  const docker = new Dockerode()
  const answers = await docker.ping().then(
    () => true,
    () => false,
  )
  const missing =
    answers &&
    (await docker
      .getImage(PHP_APACHE_IMAGE)
      .inspect()
      .then(
        () => false,
        () => true,
      ))
  if (missing) {
    process.stderr.write(`building ${PHP_APACHE_IMAGE} with runner/docker/build-images.sh\n`)
    await run('bash', [new URL('../../runner/docker/build-images.sh', import.meta.url).pathname], {
      timeout: 15 * 60_000,
    }).catch((error: { stderr?: string }) => {
      process.stderr.write(`build-images.sh failed: ${error.stderr ?? String(error)}\n`)
    })
  }
  return requireDocker(why, PHP_APACHE_IMAGE)
}

/** A started devsys/php-apache container with port 80 published on a free loopback port. */
export async function startPhpApache(
  docker: Dockerode,
  /** Mounts a tmpfs of this size on releases/ (a small disk, for the "disk full" fault). */
  releasesTmpfs?: string,
  /** Labelled as a DevSys deploy target (false: a container DevSys must refuse). */
  optedIn = true,
  /** The one site it serves (DEVSYS_SITE, `<owner>/<repo>/<folder>`); unset: /var/www/devsys. */
  site?: string,
): Promise<{ container: Dockerode.Container; name: string; url: string; remove(): Promise<void> }> {
  const port = await freePort()
  const name = `devsys-test-php-${randomBytes(4).toString('hex')}`
  const container = await docker.createContainer({
    name,
    Image: PHP_APACHE_IMAGE,
    ...(site === undefined ? {} : { Env: [`DEVSYS_SITE=${site}`] }),
    ExposedPorts: { '80/tcp': {} },
    HostConfig: {
      PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      // A tmpfs-backed volume, not a plain tmpfs mount: putArchive writes through volumes but
      // under a tmpfs mount (into the layer it hides).
      ...(releasesTmpfs === undefined
        ? {}
        : {
            Mounts: [
              {
                Type: 'volume' as const,
                Source: name,
                Target: '/var/www/devsys/releases',
                VolumeOptions: {
                  NoCopy: false,
                  Labels: { 'org.devsys.test': 'php-target' },
                  DriverConfig: {
                    Name: 'local',
                    Options: { type: 'tmpfs', device: 'tmpfs', o: `size=${releasesTmpfs}` },
                  },
                },
              },
            ],
          }),
    },
    Labels: { 'org.devsys.test': 'php-target', ...(optedIn ? { [PHP_TARGET_LABEL]: 'php' } : {}) },
  })
  await container.start()
  return {
    container,
    name,
    url: `http://127.0.0.1:${port}`,
    remove: async () => {
      await container.remove({ force: true }).catch(() => undefined)
      if (releasesTmpfs !== undefined)
        await docker
          .getVolume(name)
          .remove()
          .catch(() => undefined)
    },
  }
}
