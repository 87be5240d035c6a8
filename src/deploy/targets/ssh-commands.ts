import { quote } from '../../../runner/ssh/shell-quote.js'
import {
  liveWithoutMarker,
  previousLines,
  RELEASE_MARKER,
  sharedLinkTarget,
} from './release-plan.js'

// The fixed command lines the ssh target sends. Every path is quoted with shell-quote.ts;
// release ids are checked to be hex before they get here, and `.tmp-*` and `releases/*` are
// the only globs, written here, never built from input. Each line is one round trip.

/** Separates the parts of a command's output (cannot appear in a path the target prints). */
export const SEPARATOR = '--devsys--'
const MARKER = quote(RELEASE_MARKER)

/**
 * Makes the layout, removes temp releases left by interrupted uploads, and says whether `id` is
 * complete already; if not, removes a folder of that name without a marker (unless it is live:
 * exit 4) and prints where `current` points and the live release's marker.
 */
export function prepareCommand(root: string, id: string, shared: readonly string[]): string {
  const dirs = [`${root}/releases`, ...shared.map((s) => `${root}/shared/${s}`)]
  return [
    `mkdir -p -- ${dirs.map(quote).join(' ')} && cd -- ${quote(root)} || exit 1`,
    'rm -rf -- releases/.tmp-* || exit 1',
    `if [ -f releases/${id}/${MARKER} ]; then echo complete; exit 0; fi`,
    `if [ "$(readlink current 2>/dev/null)" = releases/${id} ]; then echo ${quote(liveWithoutMarker(id))} >&2; exit 4; fi`,
    `rm -rf -- releases/${id} || exit 1`,
    `printf 'live\\n%s\\n${SEPARATOR}\\n' "$(readlink current 2>/dev/null)"`,
    `cat -- current/${MARKER} 2>/dev/null; exit 0`,
  ].join('\n')
}

/**
 * Makes the release in one round trip. Stdin holds, when `reuse` is given, first the
 * NUL-separated list of unchanged files (exactly `reuse.listBytes` bytes, read by `dd` with
 * fullblock so that not one byte of what follows is taken), then the tar of the changed files,
 * folders and the marker. The tar is extracted into the temp release, the unchanged files are
 * hard-linked from the live release `reuse.from` (xargs batches them into a few `cp` runs), the
 * shared folders are linked, and the folder is renamed to `releases/<id>`: the release appears
 * complete or not at all. Files belong to the SSH user, whatever the tar says.
 */
export function finishCommand(
  root: string,
  tmp: string,
  id: string,
  shared: readonly string[],
  reuse?: { from: string; listBytes: number },
): string {
  const links = shared.map((s) => {
    const at = quote(`${tmp}/${s}`)
    const parent = quote(`${tmp}/${s.split('/').slice(0, -1).join('/')}`)
    return `rm -rf -- ${at} && mkdir -p -- ${parent} && ln -s -- ${quote(sharedLinkTarget(s))} ${at}`
  })
  // Named .tmp-*, so an interrupted upload's list is cleaned up with its temp release.
  const list = quote(`${tmp}.reuse`)
  const linkUnchanged =
    reuse === undefined
      ? []
      : [
          `(cd -- ${quote(reuse.from)} && xargs -0 -r cp -al --parents -t ${quote(`../${tmp}`)} -- < ../${list})`,
          `rm -f -- ${list}`,
        ]
  return [
    `cd -- ${quote(`${root}/releases`)}`,
    `mkdir -p -- ${quote(tmp)}`,
    ...(reuse === undefined
      ? []
      : [`dd bs=${reuse.listBytes} count=1 iflag=fullblock status=none of=${list}`]),
    `tar --no-same-owner -xf - -C ${quote(tmp)}`,
    ...linkUnchanged,
    ...links,
    `mv -T -- ${quote(tmp)} ${id}`,
  ].join(' && ')
}

/** Prints where `current` and `previous` point, then the complete releases' markers, newest first. */
export function stateCommand(root: string): string {
  return [
    `cd -- ${quote(root)} 2>/dev/null || exit 0`,
    `printf '%s\\n%s\\n${SEPARATOR}\\n' "$(readlink current 2>/dev/null)" "$(readlink previous 2>/dev/null)"`,
    `ls -1t -- releases/*/${MARKER} 2>/dev/null; exit 0`,
  ].join('\n')
}

/**
 * Points `current` at a complete release, then `previous` at the release that was live (the
 * instant rollback target prune keeps): each a new link renamed over the old one (atomic).
 */
export function activateCommand(root: string, id: string): string {
  return [
    `cd -- ${quote(root)} || exit 3`,
    `[ -f releases/${id}/${MARKER} ] || exit 3`,
    'before=$(basename -- "$(readlink current 2>/dev/null)")',
    `rm -f .current-tmp && ln -s releases/${id} .current-tmp && mv -T .current-tmp current || exit 1`,
    ...previousLines(id),
  ].join('\n')
}

/** Removes releases: the marker first, so a half-removed release never counts as complete. */
export function removeCommand(root: string, ids: readonly string[]): string {
  return [
    `cd -- ${quote(`${root}/releases`)}`,
    ...ids.map((id) => `rm -f -- ${id}/${MARKER} && rm -rf -- ${id}`),
  ].join(' && ')
}

/** Prints the live release's marker (nothing before the first deploy). */
export function liveMarkerCommand(root: string): string {
  return `cat -- ${quote(`${root}/current/${RELEASE_MARKER}`)} 2>/dev/null; exit 0`
}

/** `docker compose up -d --build` in a release (EXTERNAL_DEPLOY_RUN_COMPOSE). */
export function composeCommand(root: string, id: string): string {
  return `cd -- ${quote(`${root}/releases/${id}`)} && docker compose up -d --build 2>&1`
}
