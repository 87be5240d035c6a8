import {
  liveWithoutMarker,
  previousLines,
  RELEASE_MARKER,
  sharedLinkTarget,
} from './release-plan.js'

// The shell scripts the php target runs in its container with `sh -c SCRIPT sh ARGS...`. Every
// path and id is an argument ("$1", "$2", ...), so nothing from a release or the config is ever
// part of a script's text. Same layout and steps as the ssh target (ssh-commands.ts).

const MARKER = RELEASE_MARKER
/** Separates the parts of a script's output. */
export const SEPARATOR = '--devsys--'

/**
 * $1 root, $2 id, $3 what to say of a live release without marker, then shared folders: makes
 * the layout, drops temp releases, says if `id` is complete, else removes its folder unless live.
 */
export function prepareArgv(root: string, id: string, shared: readonly string[]): string[] {
  const script = [
    'root=$1 id=$2 live=$3; shift 3',
    'mkdir -p "$root/releases" || exit 1',
    // Shared folders belong to Apache's user: the site writes uploads and caches there.
    'for s do mkdir -p "$root/shared/$s" && chown www-data: "$root/shared/$s" 2>/dev/null; done',
    'cd "$root/releases" || exit 1',
    'rm -rf -- .tmp-* || exit 1',
    `if [ -f "$id/${MARKER}" ]; then echo complete; exit 0; fi`,
    'if [ "$(readlink ../current 2>/dev/null)" = "releases/$id" ]; then echo "$live" >&2; exit 4; fi',
    'rm -rf -- "$id"',
  ].join('\n')
  return ['sh', '-c', script, 'sh', root, id, liveWithoutMarker(id), ...shared]
}

/** $1 releases folder, $2 temp name, $3 id, then pairs of shared path and link: links, then renames. */
export function finishArgv(
  root: string,
  tmp: string,
  id: string,
  shared: readonly string[],
): string[] {
  const script = [
    'cd "$1" && tmp=$2 id=$3 && shift 3 || exit 1',
    'while [ $# -gt 1 ]; do',
    '  rm -rf -- "$tmp/$1" && mkdir -p -- "$(dirname -- "$tmp/$1")" && ln -s -- "$2" "$tmp/$1" || exit 1',
    '  shift 2',
    'done',
    'mv -T -- "$tmp" "$id"',
  ].join('\n')
  const pairs = shared.flatMap((s) => [s, sharedLinkTarget(s)])
  return ['sh', '-c', script, 'sh', `${root}/releases`, tmp, id, ...pairs]
}

/** $1 root: where `current` and `previous` point, then the complete releases' markers, newest first. */
export function stateArgv(root: string): string[] {
  const script = [
    'cd "$1" 2>/dev/null || exit 0',
    `printf '%s\\n%s\\n${SEPARATOR}\\n' "$(readlink current 2>/dev/null)" "$(readlink previous 2>/dev/null)"`,
    `ls -1t -- releases/*/${MARKER} 2>/dev/null; exit 0`,
  ].join('\n')
  return ['sh', '-c', script, 'sh', root]
}

/**
 * $1 root, $2 id: a new link renamed over `current` (exit 3: the release is not complete), then
 * one over `previous` to the release that was live, the instant rollback target prune keeps.
 */
export function activateArgv(root: string, id: string): string[] {
  const script = [
    'cd "$1" || exit 3',
    `[ -f "releases/$2/${MARKER}" ] || exit 3`,
    'before=$(basename -- "$(readlink current 2>/dev/null)")',
    'rm -f .current-tmp && ln -s "releases/$2" .current-tmp && mv -T .current-tmp current || exit 1',
    ...previousLines('"$2"'),
  ].join('\n')
  return ['sh', '-c', script, 'sh', root, id]
}

/** $1 releases folder, then ids: the marker first, so a half-removed release is never complete. */
export function removeArgv(root: string, ids: readonly string[]): string[] {
  const script = `cd "$1" && shift && for id do rm -f -- "$id/${MARKER}" && rm -rf -- "$id" || exit 1; done`
  return ['sh', '-c', script, 'sh', `${root}/releases`, ...ids]
}

/** The live release's marker (nothing before the first deploy). */
export function liveMarkerArgv(root: string): string[] {
  return ['sh', '-c', `cat -- "$1/current/${MARKER}" 2>/dev/null; exit 0`, 'sh', root]
}

/**
 * The scripts above by name, for the php target's long-lived helper (shell-helper.ts): each
 * script's text is the same whatever its arguments, which the helper passes as "$@".
 */
export const PHP_HELPER_VERBS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries({
    prepare: prepareArgv('/', 'x', []),
    finish: finishArgv('/', 'x', 'x', []),
    state: stateArgv('/'),
    activate: activateArgv('/', 'x'),
    remove: removeArgv('/', []),
    'live-marker': liveMarkerArgv('/'),
  }).map(([verb, argv]) => [verb, argv[2] as string]),
)

/** One of the argvs above as a request to the helper: its script's name and its arguments. */
export function asHelperRequest(argv: readonly string[]): { verb: string; args: string[] } {
  const verb = Object.keys(PHP_HELPER_VERBS).find((v) => PHP_HELPER_VERBS[v] === argv[2])
  if (verb === undefined || argv[0] !== 'sh' || argv[1] !== '-c')
    throw new Error('not one of the php target scripts')
  return { verb, args: argv.slice(4) }
}
