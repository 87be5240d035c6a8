import ipaddr from 'ipaddr.js'

/**
 * Hosts acceptance checks may reach although they resolve to loopback or private addresses:
 * the server's ACCEPTANCE_ALLOWED_HOSTS, never a repository's setting. Plain data (normalized
 * strings) so it can sit in the configuration.
 */
export interface AllowList {
  /** Host names, lower case, matched exactly (any port). */
  names: string[]
  /** Address ranges as `address/prefix`; a single address is a /32 or /128. */
  cidrs: string[]
}

export const EMPTY_ALLOW_LIST: AllowList = { names: [], cidrs: [] }

export type ParseAllowedHostsResult = { ok: true; list: AllowList } | { ok: false; bad: string[] }

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/**
 * Reads a comma-separated list of host names, addresses and CIDR ranges
 * (`staging.example.com, 10.0.0.0/8, 127.0.0.1, [::1]`). Entries that are none of these are
 * returned as `bad` so the server refuses to start rather than allow something unintended.
 */
export function parseAllowedHosts(text: string): ParseAllowedHostsResult {
  const list: AllowList = { names: [], cidrs: [] }
  const bad: string[] = []
  for (const raw of text.split(',')) {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1')
    if (entry === '') continue
    const cidr = toCidr(entry)
    if (cidr !== undefined) list.cidrs.push(cidr)
    else if (HOST_NAME.test(entry) && !/^[0-9.]+$/.test(entry)) list.names.push(entry)
    else bad.push(raw.trim())
  }
  return bad.length > 0 ? { ok: false, bad } : { ok: true, list }
}

/** `a.b.c.d`, an IPv6 address or either with `/prefix`, normalized; undefined otherwise. */
function toCidr(entry: string): string | undefined {
  const [address = '', prefix, ...rest] = entry.split('/')
  if (rest.length > 0) return undefined
  // Only the dotted four-part form: `127.1` or `0x7f.1` in a setting is more likely a typo.
  const isV4 = ipaddr.IPv4.isValidFourPartDecimal(address)
  if (!isV4 && !ipaddr.IPv6.isValid(address)) return undefined
  const max = isV4 ? 32 : 128
  if (prefix !== undefined && !/^[0-9]{1,3}$/.test(prefix)) return undefined
  const bits = prefix === undefined ? max : Number(prefix)
  if (bits > max) return undefined
  const parsed = ipaddr.parse(address)
  const text =
    parsed.kind() === 'ipv6' ? (parsed as ipaddr.IPv6).toRFC5952String() : parsed.toString()
  return `${text}/${bits}`
}
