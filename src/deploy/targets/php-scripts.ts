import {
  liveWithoutMarker,
  previousLines,
  RELEASE_MARKER,
  sharedLinkTarget,
} from './release-plan.js'

// The shell scripts the php target runs in its container, through its long-lived helper
// (php-helper.ts, shell-helper.ts). Every path and id is an argument ("$1", "$2", ...), so
// nothing from a release or the config is ever part of a script's text. Same layout and steps as
// the ssh target (ssh-commands.ts).

const MARKER = RELEASE_MARKER
/** Separates the parts of a script's output. */
export const SEPARATOR = '--devsys--'

/** The scripts by name: fixed text, their arguments given as "$@" by the helper. */
export const PHP_HELPER_VERBS = {
  /**
   * $1 root, $2 id, $3 what to say of a live release without marker, then shared folders: makes
   * the layout, drops temp releases, says if `id` is complete, else removes its folder unless live.
   */
  prepare: [
    'root=$1 id=$2 live=$3; shift 3',
    'mkdir -p "$root/releases" || exit 1',
    // Shared folders belong to Apache's user: the site writes uploads and caches there.
    'for s do mkdir -p "$root/shared/$s" && chown www-data: "$root/shared/$s" 2>/dev/null; done',
    'cd "$root/releases" || exit 1',
    'rm -rf -- .tmp-* || exit 1',
    `if [ -f "$id/${MARKER}" ]; then echo complete; exit 0; fi`,
    'if [ "$(readlink ../current 2>/dev/null)" = "releases/$id" ]; then echo "$live" >&2; exit 4; fi',
    'rm -rf -- "$id"',
  ].join('\n'),
  /** $1 releases folder, $2 temp name, $3 id, then pairs of shared path and link: links, then renames. */
  finish: [
    'cd "$1" && tmp=$2 id=$3 && shift 3 || exit 1',
    'while [ $# -gt 1 ]; do',
    '  rm -rf -- "$tmp/$1" && mkdir -p -- "$(dirname -- "$tmp/$1")" && ln -s -- "$2" "$tmp/$1" || exit 1',
    '  shift 2',
    'done',
    'mv -T -- "$tmp" "$id"',
  ].join('\n'),
  /** $1 root: where `current` and `previous` point, then the complete releases' markers, newest first. */
  state: [
    'cd "$1" 2>/dev/null || exit 0',
    `printf '%s\\n%s\\n${SEPARATOR}\\n' "$(readlink current 2>/dev/null)" "$(readlink previous 2>/dev/null)"`,
    `ls -1t -- releases/*/${MARKER} 2>/dev/null; exit 0`,
  ].join('\n'),
  /**
   * $1 root, $2 id: a new link renamed over `current` (exit 3: the release is not complete), then
   * one over `previous` to the release that was live, the instant rollback target prune keeps.
   */
  activate: [
    'cd "$1" || exit 3',
    `[ -f "releases/$2/${MARKER}" ] || exit 3`,
    'before=$(basename -- "$(readlink current 2>/dev/null)")',
    'rm -f .current-tmp && ln -s "releases/$2" .current-tmp && mv -T .current-tmp current || exit 1',
    ...previousLines('"$2"'),
  ].join('\n'),
  /** $1 releases folder, then ids: the marker first, so a half-removed release is never complete. */
  remove: `cd "$1" && shift && for id do rm -f -- "$id/${MARKER}" && rm -rf -- "$id" || exit 1; done`,
  /** $1 root: the live release's marker (nothing before the first deploy). */
  'live-marker': `cat -- "$1/current/${MARKER}" 2>/dev/null; exit 0`,
} as const

/** A request to the php helper: which script, with which arguments. */
export interface PhpRequest {
  verb: keyof typeof PHP_HELPER_VERBS
  args: string[]
}

export const prepareRequest = (
  root: string,
  id: string,
  shared: readonly string[],
): PhpRequest => ({
  verb: 'prepare',
  args: [root, id, liveWithoutMarker(id), ...shared],
})

export const finishRequest = (
  root: string,
  tmp: string,
  id: string,
  shared: readonly string[],
): PhpRequest => ({
  verb: 'finish',
  args: [`${root}/releases`, tmp, id, ...shared.flatMap((s) => [s, sharedLinkTarget(s)])],
})

export const stateRequest = (root: string): PhpRequest => ({ verb: 'state', args: [root] })

export const activateRequest = (root: string, id: string): PhpRequest => ({
  verb: 'activate',
  args: [root, id],
})

export const removeRequest = (root: string, ids: readonly string[]): PhpRequest => ({
  verb: 'remove',
  args: [`${root}/releases`, ...ids],
})

export const liveMarkerRequest = (root: string): PhpRequest => ({
  verb: 'live-marker',
  args: [root],
})

/** A request as a plain `sh -c SCRIPT sh ARGS...` argv, to run a script outside the helper. */
export function scriptArgv(request: PhpRequest): string[] {
  return ['sh', '-c', PHP_HELPER_VERBS[request.verb], 'sh', ...request.args]
}
