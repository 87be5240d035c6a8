import { quote } from '../../../runner/ssh/shell-quote.js'
import { sharedLinkTarget } from './release-plan.js'

// The one command line the ssh target runs per upload (switches, markers and links go over
// SFTP, the rest through the helper in ssh-helper.ts). Every path is quoted with
// shell-quote.ts; release ids are checked to be hex before they get here, and `.tmp-*` is the
// only glob, written here, never built from input.

/** Separates the parts of the helper's state output (cannot appear in a path it prints). */
export const SEPARATOR = '--devsys--'

/**
 * Makes the release in one round trip, the upload's one exec channel. It makes the layout,
 * removes temp folders left by interrupted uploads and a marker-less folder named `id` (the
 * target checked over SFTP that it is not live), then reads stdin: when `reuse` is given, first
 * the NUL-separated list of unchanged files (exactly `reuse.listBytes` bytes, read by `dd` with
 * fullblock so that not one byte of what follows is taken), then the tar of the changed files,
 * folders and the marker. The tar is extracted into the temp release, the unchanged files are
 * hard-linked from the live release `reuse.from` (xargs batches them into a few `cp` runs), the
 * shared folders are linked, and the folder is renamed to `releases/<id>`: the release appears
 * complete or not at all. Files belong to the SSH user, whatever the tar says.
 */
export function uploadCommand(
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
  const dirs = [`${root}/releases`, ...shared.map((s) => `${root}/shared/${s}`)]
  return [
    `mkdir -p -- ${dirs.map(quote).join(' ')}`,
    `cd -- ${quote(`${root}/releases`)}`,
    'rm -rf -- .tmp-*',
    `rm -rf -- ${id}`,
    `mkdir -- ${quote(tmp)}`,
    ...(reuse === undefined
      ? []
      : [`dd bs=${reuse.listBytes} count=1 iflag=fullblock status=none of=${list}`]),
    `tar --no-same-owner -xf - -C ${quote(tmp)}`,
    ...linkUnchanged,
    ...links,
    `mv -T -- ${quote(tmp)} ${id}`,
  ].join(' && ')
}
