import { posix } from 'node:path'

export type DeployRootResult =
  | {
      ok: true
      /** `<base>/<owner>/<repo>/<path or environment>`: the folder holding releases/ and current. */
      root: string
      /** The same without the base, `<owner>/<repo>/<path or environment>` (what a container serves). */
      site: string
    }
  | { ok: false; message: string }

/** GitHub's owner and repository names: letters, digits, `-`, `_` and `.`. */
const NAME = /^[A-Za-z0-9_.-]{1,100}$/
const ENVIRONMENT = /^[a-z0-9][a-z0-9-]{0,62}$/
/** One folder of a repository's path setting (the same characters the config schema allows). */
const SEGMENT = /^[A-Za-z0-9_.-]{1,100}$/

/**
 * Where an environment's releases live on a shared php container or ssh host: below the
 * server's `base`, in the repository's own folder, so one repository cannot reach another's
 * site. `path` is the repository's optional relative folder (default the environment's name);
 * `setting` names it in messages, e.g. `environments.production.ssh.path`.
 */
export function resolveDeployRoot(
  base: string,
  repo: string,
  environment: string,
  path?: string,
  setting = 'path',
): DeployRootResult {
  if (!base.startsWith('/') || base.split('/').some((part) => part === '.' || part === '..')) {
    return {
      ok: false,
      message: `The deploy root ${JSON.stringify(base)} is not an absolute folder.`,
    }
  }
  const [owner = '', name = '', ...extra] = repo.split('/')
  if (extra.length > 0 || ![owner, name].every((part) => NAME.test(part) && !/^\.+$/.test(part))) {
    return { ok: false, message: `${JSON.stringify(repo)} is not an owner/repository name.` }
  }
  if (!ENVIRONMENT.test(environment)) {
    return { ok: false, message: `${JSON.stringify(environment)} is not an environment name.` }
  }
  const folder = path === undefined ? environment : checkPath(path, setting)
  if (typeof folder !== 'string') return folder
  const repoRoot = posix.join(posix.normalize(base), owner, name)
  const root = posix.join(repoRoot, folder)
  // Belt and braces: whatever the checks above let through must still end up inside repoRoot.
  if (!root.startsWith(`${repoRoot}/`)) return refuse(path ?? environment, setting)
  return { ok: true, root, site: `${owner}/${name}/${folder}` }
}

/** The repository's folder with trailing slashes dropped, or why it is refused. */
function checkPath(path: string, setting: string): string | { ok: false; message: string } {
  const trimmed = path.replace(/\/+$/, '')
  const parts = trimmed.split('/')
  const safe =
    !path.startsWith('/') &&
    trimmed.length <= 200 &&
    parts.every((part) => SEGMENT.test(part) && part !== '.' && part !== '..')
  return safe ? parts.join('/') : refuse(path, setting)
}

function refuse(path: string, setting: string): { ok: false; message: string } {
  return {
    ok: false,
    message:
      `${setting} in .github/devsys.yml is ${JSON.stringify(path)}, which is not a folder inside the repository's own deploy folder: ` +
      'write a relative folder of letters, digits, ., _ and - separated by /, without .. (e.g. staging), or leave it out to use the environment name.',
  }
}
