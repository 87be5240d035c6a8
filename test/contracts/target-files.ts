import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type Dockerode from 'dockerode'
import { execInContainer } from '../../src/deploy/targets/docker-exec.js'

/** What a file under a deploy root is: its type, permission bits and inode. */
export interface TargetFileInfo {
  type: 'file' | 'dir' | 'link' | 'other'
  mode: number
  ino: number
}

/**
 * The files under a deploy target's root, as a test looks at and tampers with them (a killed
 * upload's leftovers, a release made by hand). Paths are relative to the root.
 */
export interface TargetFiles {
  read(path: string): Promise<string>
  readlink(path: string): Promise<string>
  /** The names in a folder, sorted; none when it does not exist. */
  list(path: string): Promise<string[]>
  /** Writes a file, making its folders. */
  write(path: string, text: string): Promise<void>
  mkdir(path: string): Promise<void>
  symlink(target: string, path: string): Promise<void>
  stat(path: string): Promise<TargetFileInfo>
  /** Sets a file's modification time to `seconds` before now. */
  age(path: string, seconds: number): Promise<void>
}

/** A root on this machine (the local target, and the ssh target's host on loopback). */
export function hostFiles(root: string): TargetFiles {
  const at = (path: string) => join(root, path)
  return {
    read: (path) => readFile(at(path), 'utf8'),
    readlink: (path) => readlink(at(path)),
    list: async (path) => (await readdir(at(path)).catch(() => [] as string[])).sort(),
    write: async (path, text) => {
      await mkdir(dirname(at(path)), { recursive: true })
      await writeFile(at(path), text)
    },
    mkdir: async (path) => {
      await mkdir(at(path), { recursive: true })
    },
    symlink: (target, path) => symlink(target, at(path)),
    stat: async (path) => {
      const info = await lstat(at(path))
      const type = info.isSymbolicLink()
        ? 'link'
        : info.isFile()
          ? 'file'
          : info.isDirectory()
            ? 'dir'
            : 'other'
      return { type, mode: info.mode & 0o7777, ino: info.ino }
    },
    age: (path, seconds) => {
      const time = Date.now() / 1000 - seconds
      return utimes(at(path), time, time)
    },
  }
}

/** A root inside a running container (the php target), read and changed with `docker exec`. */
export function containerFiles(
  docker: Dockerode,
  container: Dockerode.Container,
  root: string,
): TargetFiles {
  // Every path is a positional argument of the script, never text in it.
  const sh = async (script: string, ...args: string[]): Promise<string> => {
    const result = await execInContainer(docker, container, ['sh', '-c', script, 'sh', ...args])
    if (result.code !== 0) {
      throw Object.assign(new Error(`${script} ${args.join(' ')}: ${result.stderr.trim()}`), {
        code: result.code,
      })
    }
    return result.stdout
  }
  const at = (path: string) => `${root}/${path}`
  return {
    read: (path) => sh('cat -- "$1"', at(path)),
    readlink: async (path) => (await sh('readlink -- "$1"', at(path))).replace(/\n$/, ''),
    list: async (path) =>
      (await sh('[ -d "$1" ] || exit 0; ls -A -- "$1"', at(path)))
        .split('\n')
        .filter(Boolean)
        .sort(),
    write: async (path, text) => {
      await sh('mkdir -p -- "$(dirname -- "$1")" && printf %s "$2" > "$1"', at(path), text)
    },
    mkdir: async (path) => {
      await sh('mkdir -p -- "$1"', at(path))
    },
    symlink: async (target, path) => {
      await sh('ln -s -- "$1" "$2"', target, at(path))
    },
    stat: async (path) => {
      const [kind = '', mode = '', ino = ''] = (await sh('stat -c "%F|%a|%i" -- "$1"', at(path)))
        .trim()
        .split('|')
      const type =
        kind === 'symbolic link'
          ? 'link'
          : kind.startsWith('regular')
            ? 'file'
            : kind === 'directory'
              ? 'dir'
              : 'other'
      return { type, mode: Number.parseInt(mode, 8), ino: Number(ino) }
    },
    age: async (path, seconds) => {
      await sh('touch -d "@$2" -- "$1"', at(path), String(Math.round(Date.now() / 1000 - seconds)))
    },
  }
}
