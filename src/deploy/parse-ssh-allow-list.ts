import { posix } from 'node:path'

/**
 * One entry of EXTERNAL_DEPLOY_SSH_ALLOW: repositories matching `repos` may deploy to `host`
 * (on `port`, as `user` or any user when unset), each below `<root>/<owner>/<repo>/`.
 */
export interface SshAllowEntry {
  /** The entry as written, for messages. */
  text: string
  /** An `owner/repo` glob (picomatch), e.g. `octo/*`. */
  repos: string
  user?: string
  /** Lower case, IPv6 without brackets. */
  host: string
  port: number
  /** Absolute, normalized, no trailing slash. */
  root: string
}

export type ParseSshAllowListResult =
  | { ok: true; list: SshAllowEntry[] }
  | { ok: false; bad: string[] }

const REPO_GLOB = /^[A-Za-z0-9_.*?-]+\/[A-Za-z0-9_.*?-]+$/
const USER = /^[a-z_][a-z0-9_-]{0,31}$/
const HOST_NAME = /^[A-Za-z0-9.-]{1,253}$/
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/
const TARGET = /^(?:([^@]+)@)?(\[[^\]]*\]|[^:/]+)(?::([0-9]{1,5}))?(\/.*)$/
const ROOT = /^\/[A-Za-z0-9_./-]*$/

/**
 * Reads EXTERNAL_DEPLOY_SSH_ALLOW: entries separated by commas or whitespace, each
 * `repoGlob=[user@]host[:port]/root/path` (port 22 when left out). Entries that do not parse
 * are returned as `bad`, so the server refuses to start rather than allow something unintended.
 */
export function parseSshAllowList(text: string): ParseSshAllowListResult {
  const list: SshAllowEntry[] = []
  const bad: string[] = []
  for (const entry of text.split(/[\s,]+/)) {
    if (entry === '') continue
    const parsed = parseEntry(entry)
    if (parsed === undefined) bad.push(entry)
    else list.push(parsed)
  }
  return bad.length > 0 ? { ok: false, bad } : { ok: true, list }
}

function parseEntry(text: string): SshAllowEntry | undefined {
  const equals = text.indexOf('=')
  const repos = text.slice(0, equals)
  const match = TARGET.exec(text.slice(equals + 1))
  if (equals < 0 || !REPO_GLOB.test(repos) || match === null) return undefined
  const [, user, rawHost = '', rawPort, rawRoot = ''] = match
  const v6 = rawHost.startsWith('[')
  const host = v6 ? rawHost.slice(1, -1) : rawHost
  const port = rawPort === undefined ? 22 : Number(rawPort)
  const segments = rawRoot.split('/')
  const valid =
    (user === undefined || USER.test(user)) &&
    (v6 ? IPV6.test(host) && host.includes(':') : HOST_NAME.test(host)) &&
    port >= 1 &&
    port <= 65535 &&
    ROOT.test(rawRoot) &&
    !segments.some((part) => part === '.' || part === '..')
  if (!valid) return undefined
  return {
    text,
    repos,
    ...(user === undefined ? {} : { user }),
    host: host.toLowerCase(),
    port,
    root: posix.normalize(rawRoot).replace(/(.)\/+$/, '$1'),
  }
}
