import { lstatSync, readlinkSync } from 'node:fs'
import type { SandboxSettings } from './sandbox-settings.js'

/** A host folder visible inside the sandbox. */
export interface SandboxMount {
  host: string
  /** Where it appears inside; default the same path. */
  inside?: string
  /** Default read-only. */
  writable?: boolean
}

/** One program to run confined. Everything not mounted here or in the system view is absent. */
export interface SandboxSpec {
  argv: readonly string[]
  /** Working directory inside the sandbox. */
  cwd: string
  /** The program's whole environment (DevSys's own is never passed on). */
  env: Record<string, string>
  mounts?: SandboxMount[]
  /** Empty writable folders in memory, each limited to the disk limit; /tmp always is one. */
  scratch?: string[]
  /** Default the server's SANDBOX_NETWORK; a served site needs `host` to be reachable. */
  network?: SandboxSettings['network']
}

/** Where bubblewrap and the two util-linux helpers are; found on PATH by default. */
export interface SandboxPrograms {
  bwrap: string
  setpriv: string
  prlimit: string
}

const PROGRAMS: SandboxPrograms = { bwrap: 'bwrap', setpriv: 'setpriv', prlimit: 'prlimit' }
/** The read-only system view: programs, libraries and configuration, nothing else of the host. */
const SYSTEM_DIRS = ['/usr', '/etc']
const SYSTEM_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']
/** PATH inside: only system folders exist there. */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/**
 * The argv that runs `spec.argv` inside bubblewrap (https://github.com/containers/bubblewrap):
 * new pid, network (unless `host`), ipc, uts and mount namespaces; a read-only view of /usr and
 * /etc plus the given mounts; fresh /proc, /dev and /tmp; `--die-with-parent`, so nothing
 * outlives DevSys; resource limits set by prlimit just before the program starts.
 *
 * As root, bubblewrap builds the namespaces and setpriv then becomes the unprivileged
 * SANDBOX_UID with no capabilities and no_new_privs, so the program cannot read files only
 * DevSys's user may read. As any other user, a user namespace maps the program to DevSys's own
 * uid: then only what is mounted is reachable, which never includes DATA_DIR or key files.
 */
export function sandboxArgv(
  settings: SandboxSettings,
  spec: SandboxSpec,
  opts: { root?: boolean; programs?: SandboxPrograms } = {},
): string[] {
  const programs = opts.programs ?? PROGRAMS
  const root = opts.root ?? process.getuid?.() === 0
  const { limits } = settings
  const args: string[] = [programs.bwrap]
  for (const dir of SYSTEM_DIRS) args.push('--ro-bind', dir, dir)
  for (const link of systemLinks()) args.push(...link)
  args.push('--dev', '/dev', '--proc', '/proc')
  for (const dir of ['/tmp', ...(spec.scratch ?? [])]) {
    args.push('--perms', '1777', '--size', String(limits.diskBytes), '--tmpfs', dir)
  }
  // After the scratch folders, so that a folder under /tmp is not hidden by the new /tmp.
  for (const path of settings.readOnlyPaths) args.push('--ro-bind-try', path, path)
  const made = new Set(['/', '/tmp', ...(spec.scratch ?? [])])
  for (const mount of spec.mounts ?? []) {
    const inside = mount.inside ?? mount.host
    // Folders bubblewrap makes on the way to a mount point would be private to root: make
    // them enterable, so absolute paths into the mount work for the sandbox user.
    for (const dir of ancestors(inside)) {
      if (made.has(dir)) continue
      made.add(dir)
      args.push('--perms', '0755', '--dir', dir)
    }
    args.push(mount.writable ? '--bind' : '--ro-bind', mount.host, inside)
  }
  if (!root) args.push('--unshare-user')
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try')
  if ((spec.network ?? settings.network) === 'loopback') args.push('--unshare-net')
  args.push('--hostname', 'sandbox', '--die-with-parent', '--new-session', '--chdir', spec.cwd)
  args.push('--clearenv')
  for (const [name, value] of Object.entries(spec.env)) args.push('--setenv', name, value)
  args.push('--')
  if (root) {
    args.push(
      programs.setpriv,
      `--reuid=${settings.uid}`,
      `--regid=${settings.gid}`,
      '--clear-groups',
      '--no-new-privs',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
    )
  }
  args.push(
    programs.prlimit,
    `--as=${limits.memoryBytes}`,
    `--nproc=${limits.processes}`,
    `--fsize=${limits.diskBytes}`,
    `--nofile=${limits.openFiles}`,
    '--core=0',
    '--',
    ...spec.argv,
  )
  return args
}

/** `/a/b/c` → `/a`, `/a/b` (not the path itself). */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '')
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)
}

let links: string[][] | undefined

/** /bin, /lib… as on the host: symlinks into /usr on merged-/usr systems, else bound read-only. */
function systemLinks(): string[][] {
  links ??= SYSTEM_LINKS.flatMap((path) => {
    try {
      const info = lstatSync(path)
      if (info.isSymbolicLink()) return [['--symlink', readlinkSync(path), path]]
      if (info.isDirectory()) return [['--ro-bind', path, path]]
    } catch {
      // not on this system
    }
    return []
  })
  return links
}
