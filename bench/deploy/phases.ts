/**
 * Where a deploy's time goes (issue 16, item 4): each phase of the ssh target's full and
 * one-file deploy timed on its own, with the same modules the target uses, against the loopback
 * sshd of bench:deploy, on the same generated site (a git checkout, as a deploy job's clone is).
 *
 *   npx tsx bench/deploy/phases.ts [--files=2000] [--rounds=5] [--shell-rc]
 *
 * Phases: handshake (a new SSH connection, then its SFTP session), listing (SFTP: is the
 * release there, where `current` points, the live marker), hashing (list the local files: git
 * blob ids and stat; a one-file deploy reads and hashes the changed file only, a full deploy
 * leaves hashing to the tar), upload (the one exec channel: the tar, extracted on the host, the
 * unchanged files hard-linked, the rename), of which link (`xargs cp -al` of the unchanged files
 * alone, less an empty exec), and switch (SFTP: a new link, posix-rename over `current`).
 * Writes bench/deploy/phases.md.
 */

import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { connectSsh } from '../../runner/ssh/connect.js'
import { quote } from '../../runner/ssh/shell-quote.js'
import { sameFile } from '../../src/deploy/release-files.js'
import { packRelease } from '../../src/deploy/targets/pack-release.js'
import {
  listDeployFiles,
  parseReleaseMarker,
  RELEASE_MARKER,
} from '../../src/deploy/targets/release-plan.js'
import { uploadCommand } from '../../src/deploy/targets/ssh-commands.js'
import { execRemote } from '../../src/deploy/targets/ssh-exec.js'
import { createSshPool } from '../../src/deploy/targets/ssh-pool.js'
import { readlinkOrNull, readTextOrNull, statOrNull } from '../../src/deploy/targets/ssh-sftp.js'
import { startSshd } from '../../test/helpers/services.js'
import { describeMachine } from '../lib/machine.js'
import { intOption, option } from '../lib/options.js'
import { summarize } from '../lib/summarize.js'
import { sshTarget } from './sides.js'
import { changeOneFile, generateSite, gitCheckout, type Site } from './site.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const PHASES = ['handshake', 'listing', 'hashing', 'upload', 'link', 'switch'] as const
type Phase = (typeof PHASES)[number]

async function main(): Promise<void> {
  const files = intOption('files', 2000, 10, 200_000)
  const rounds = intOption('rounds', 5, 1, 100)
  const shellRc = ['true', '1'].includes(option('shell-rc') ?? 'false')
  const log = pino({ level: 'silent' })
  const root = await mkdtemp(path.join(os.tmpdir(), 'devsys-bench-phases-'))
  await mkdir(path.join(root, 'sshd'))
  const sshd = await startSshd(path.join(root, 'sshd'), shellRc ? [] : ['SetEnv=SHLVL=1'])
  const pool = createSshPool()
  const times: Record<'full' | 'one-file', Record<Phase, number[]>> = {
    full: Object.fromEntries(PHASES.map((p) => [p, []])) as unknown as Record<Phase, number[]>,
    'one-file': Object.fromEntries(PHASES.map((p) => [p, []])) as unknown as Record<
      Phase,
      number[]
    >,
  }
  try {
    const plain = await generateSite(path.join(root, 'a-plain'), files)
    const a = await gitCheckout(plain, path.join(root, 'a'))
    const b = await gitCheckout(
      await changeOneFile(plain, path.join(root, 'b-plain'), 'phases'),
      path.join(root, 'b'),
    )
    const login = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKeyPath: sshd.privateKeyPath,
      knownHostsPath: sshd.knownHostsPath,
      allowInsecure: false,
      readyTimeoutMs: 10_000,
      settings: {
        host: 'host',
        address: 'address',
        user: 'user',
        keyPath: 'key',
        knownHosts: 'known_hosts',
      },
      log,
    }
    for (let round = 0; round <= rounds; round++) {
      const deployRoot = path.join(root, 'remote', `round-${round}`)
      for (const [kind, site] of [
        ['full', a],
        ['one-file', b],
      ] as const) {
        const mark = (phase: Phase, ms: number) => {
          if (round > 0) times[kind][phase].push(ms)
        }
        const timed = async <T>(phase: Phase, fn: () => Promise<T>): Promise<T> => {
          const started = performance.now()
          const result = await fn()
          mark(phase, performance.now() - started)
          return result
        }
        const client = await timed('handshake', async () => {
          const c = await connectSsh(login)
          c.setNoDelay(true)
          return c
        })
        const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) =>
          client.sftp((error, s) => (error ? reject(error) : resolve(s))),
        )
        const live = await timed('listing', async () => {
          await statOrNull(sftp, `${deployRoot}/releases/${site.id}/${RELEASE_MARKER}`)
          await readlinkOrNull(sftp, `${deployRoot}/current`)
          const text = await readTextOrNull(
            sftp,
            `${deployRoot}/current/${RELEASE_MARKER}`,
            1 << 28,
          )
          return text === null ? null : parseReleaseMarker(text)
        })
        const local = await timed('hashing', () =>
          listDeployFiles(
            release(site),
            'ssh',
            live === null ? { hash: false } : { known: live.files },
          ),
        )
        const reuse = [...local].filter(([p, f]) => sameFile(live?.files.get(p), f)).map(([p]) => p)
        const send = new Set([...local.keys()].filter((p) => !reuse.includes(p)))
        const from = live !== null && reuse.length > 0 ? live.id : undefined
        const list = Buffer.from(from === undefined ? '' : `${reuse.join('\0')}\0`)
        const { stream } = packRelease(site.dir, { id: site.id, files: local }, send, {
          prefix: '',
        })
        const tmp = `.tmp-${site.id}-${randomBytes(4).toString('hex')}`
        const command = uploadCommand(
          deployRoot,
          tmp,
          site.id,
          [],
          from === undefined ? undefined : { from, listBytes: list.length },
        )
        const uploaded = await timed('upload', () =>
          execRemote(client, command, {
            input: from === undefined ? stream : concat(list, stream),
          }),
        )
        if (uploaded.code !== 0) throw new Error(`upload failed: ${uploaded.stderr}`)
        if (from !== undefined) {
          // The hard-linking alone: the same cp -al into a scratch folder, less an empty exec.
          const scratch = `${deployRoot}/link-${round}`
          const linkCommand = `mkdir -p ${quote(scratch)} && cd ${quote(`${deployRoot}/releases/${from}`)} && xargs -0 -r cp -al --parents -t ${quote(scratch)} --`
          const empty = performance.now()
          await execRemote(client, 'true')
          const emptyMs = performance.now() - empty
          const started = performance.now()
          const linked = await execRemote(client, linkCommand, { input: list })
          if (linked.code !== 0) throw new Error(`link failed: ${linked.stderr}`)
          mark('link', performance.now() - started - emptyMs)
        }
        client.end()
        // The switch as the target makes it, on a kept connection (one unmeasured first).
        const target = sshTarget(sshd, deployRoot, log, pool)
        await target.activate(site.id)
        await timed('switch', () => target.activate(site.id))
        await target.close()
      }
      process.stdout.write(`  round ${round === 0 ? 'warm-up' : round} done\n`)
    }
    const lines = [
      '# Deploy phases: the ssh target, phase by phase',
      '',
      ...describeMachine({
        date: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
        loadavg: os.loadavg(),
        tools: {},
      }).slice(0, 1),
      `Site: ${files.toLocaleString('en-US')} files (bench:deploy's site, as git checkouts), ${rounds} rounds after a warm-up, medians in ms; sshd sessions ${shellRc ? 'run the login user’s ~/.bashrc (--shell-rc)' : 'with SHLVL=1 (no ~/.bashrc)'}. How each phase is measured: the comment at the top of bench/deploy/phases.ts.`,
      '',
      `| deploy | ${PHASES.join(' | ')} |`,
      `|---|${PHASES.map(() => '---:').join('|')}|`,
      ...(['full', 'one-file'] as const).map(
        (kind) =>
          `| ${kind} | ${PHASES.map((p) => (times[kind][p].length === 0 ? '–' : summarize(times[kind][p]).median.toFixed(1))).join(' | ')} |`,
      ),
      '',
    ]
    const report = lines.join('\n')
    process.stdout.write(`${report}\n`)
    await writeFile(path.join(HERE, shellRc ? 'phases-shell-rc.md' : 'phases.md'), report)
  } finally {
    await pool.close()
    await sshd.stop()
    await rm(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

function release(site: Site) {
  return { id: site.id, dir: site.dir }
}

/** The list of unchanged files, then the tar, as one stdin (as the target sends them). */
function concat(list: Buffer, tar: NodeJS.ReadableStream): Readable {
  return Readable.from(
    (async function* () {
      yield list
      for await (const chunk of tar) yield chunk as Buffer
    })(),
  )
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exitCode = 1
})
