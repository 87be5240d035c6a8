import type { Client } from 'ssh2'
import { RELEASE_MARKER } from './release-plan.js'
import {
  type HelperResult,
  helperMarkers,
  helperScript,
  type ShellHelper,
  wrapHelper,
} from './shell-helper.js'
import { SEPARATOR } from './ssh-commands.js'

export type { HelperResult }

/** The requests the ssh target's helper knows (see shell-helper.ts). */
export type HelperRequest =
  /** $1 root: `current`, `previous`, a separator, then the complete releases' markers, newest first. */
  | { verb: 'state'; args: [root: string] }
  /** $1 releases folder, then ids: each marker first, so a half-removed release is never complete. */
  | { verb: 'remove'; args: [releases: string, ...ids: string[]] }
  /** $1 a release folder: `docker compose up -d --build` there (EXTERNAL_DEPLOY_RUN_COMPOSE). */
  | { verb: 'compose'; args: [release: string] }

/** The ssh target's helper: the work SFTP cannot do (list releases by age, remove, compose). */
export type SshHelper = ShellHelper & {
  run(request: HelperRequest, signal?: AbortSignal): Promise<HelperResult>
}

const VERBS: Record<HelperRequest['verb'], string> = {
  state: [
    'cd -- "$1" 2>/dev/null || exit 0',
    `printf '%s\\n%s\\n${SEPARATOR}\\n' "$(readlink current 2>/dev/null)" "$(readlink previous 2>/dev/null)"`,
    'ls -1t -- releases/*/"$M" 2>/dev/null; exit 0',
  ].join('\n'),
  remove: 'cd -- "$1" && shift && for id do rm -f -- "$id/$M" && rm -rf -- "$id" || exit 1; done',
  compose: 'cd -- "$1" && docker compose up -d --build 2>&1',
}

/** Starts the helper on a connection: one exec channel, kept until the connection ends. */
export function startHelper(client: Client): Promise<SshHelper> {
  const markers = helperMarkers()
  return new Promise((resolve, reject) => {
    client.exec(helperScript(VERBS, markers, `M=${RELEASE_MARKER}`), (error, channel) => {
      if (error) return reject(error)
      channel.stderr.on('data', () => undefined)
      channel.on('error', () => undefined)
      resolve(
        wrapHelper(
          {
            write: (text) => channel.write(text),
            close: () => channel.close(),
            onData: (listener) => channel.on('data', listener),
            onClose: (listener) => channel.on('close', listener),
          },
          markers,
        ),
      )
    })
  })
}
