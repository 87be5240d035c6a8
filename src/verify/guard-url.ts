import { lookup as dnsLookup } from 'node:dns/promises'
import ipaddr from 'ipaddr.js'
import type { AllowList } from './parse-allowed-hosts.js'

/** Every address a host name resolves to (dns.lookup with `all`, as connections would see it). */
export type ResolveHost = (hostname: string) => Promise<Array<{ address: string; family: number }>>

/** Where acceptance checks may go. Only the server decides; a repository never widens it. */
export interface ReachPolicy {
  /**
   * Origins DevSys itself chose for this environment (the php -S it started, the server's
   * PHP_DEPLOY_URL): reachable even on loopback, because nothing else answers there.
   */
  trustedOrigins: readonly string[]
  /** The server's ACCEPTANCE_ALLOWED_HOSTS. */
  allowed: AllowList
  /** Resolves host names (tests inject one; default dns.lookup). */
  resolve?: ResolveHost
  /** What may be reached instead, for the refusal (default: acceptance checks' wording). */
  allowedWhere?: string
}

/** The address a request must connect to: the one that was checked, so DNS cannot change it. */
export interface PinnedAddress {
  address: string
  family: 4 | 6
}

export type GuardResult =
  | { ok: true; pinned: PinnedAddress }
  /** `transient`: the host did not resolve, which may pass (a site starting, DNS hiccup). */
  | { ok: false; reason: string; transient: boolean }

const ALLOWED_WHERE =
  "only the environment's own target or hosts in ACCEPTANCE_ALLOWED_HOSTS may be checked"

/** What a non-public range is, in words for the check run. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  linkLocal: 'a link-local address (where cloud metadata services answer)',
  uniqueLocal: 'a unique-local IPv6 address (a private network)',
  carrierGradeNat: 'a carrier-grade NAT address (a private network)',
  multicast: 'a multicast address',
  unspecified: 'an unspecified address (it reaches this machine)',
  broadcast: 'a broadcast address',
  ipv4Compatible: 'an IPv4-compatible IPv6 address',
}

/**
 * Decides whether a check may be sent to `url` and to which address. Refuses loopback,
 * private, link-local, unique-local, CGNAT, multicast, unspecified and every other non-public
 * range (IPv4 written as IPv6 is judged as the IPv4 it carries), unless the origin is trusted or
 * the host or address is in the server's allow-list. Every address the name resolves to must
 * pass, so a name with one public and one private address is refused.
 */
export async function guardUrl(url: URL, policy: ReachPolicy): Promise<GuardResult> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refused(`${url.protocol} URLs are not checked; use http:// or https://`)
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  let addresses: Array<{ address: string; family: number }>
  if (ipaddr.isValid(hostname)) {
    addresses = [{ address: hostname, family: hostname.includes(':') ? 6 : 4 }]
  } else {
    try {
      addresses = await (policy.resolve ?? resolveAll)(hostname)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      return {
        ok: false,
        reason: `host ${hostname} not found (${code ?? 'no address'})`,
        transient: true,
      }
    }
    if (addresses.length === 0) {
      return { ok: false, reason: `host ${hostname} has no address`, transient: true }
    }
  }
  const first = addresses[0]
  if (first === undefined) return refused(`host ${hostname} has no address`)
  const pinned: PinnedAddress = { address: first.address, family: first.family === 6 ? 6 : 4 }
  if (policy.trustedOrigins.some((origin) => sameOrigin(origin, url))) return { ok: true, pinned }
  if (policy.allowed.names.includes(hostname)) return { ok: true, pinned }
  for (const { address } of addresses) {
    const ip = parseAddress(address)
    if (ip === undefined)
      return refused(`${hostname} resolved to ${address}, which is not an address`)
    if (policy.allowed.cidrs.some((cidr) => inCidr(ip, cidr))) continue
    const range = rangeOf(ip)
    if (range === 'unicast') continue
    const what = RANGE_WORDS[range] ?? `a reserved address (${range})`
    // IPv4 written as IPv6 is named both ways, so the reader sees which machine it means.
    const shown = ip.kind() === 'ipv4' && address.includes(':') ? `${address} (${ip})` : address
    const subject = address === hostname ? shown : `${hostname} resolves to ${shown}, which`
    return refused(`${subject} is ${what}; ${policy.allowedWhere ?? ALLOWED_WHERE}`)
  }
  return { ok: true, pinned }
}

function refused(why: string): GuardResult {
  return { ok: false, reason: `refused: ${why}`, transient: false }
}

async function resolveAll(hostname: string) {
  return dnsLookup(hostname, { all: true, verbatim: true })
}

function sameOrigin(origin: string, url: URL): boolean {
  try {
    return new URL(origin).origin === url.origin
  } catch {
    return false
  }
}

/** The address, with IPv4-mapped IPv6 (`::ffff:127.0.0.1`) turned into the IPv4 it is. */
function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(address.replace(/%.*$/, ''))
  } catch {
    return undefined
  }
}

function rangeOf(ip: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (ip.kind() === 'ipv4') return (ip as ipaddr.IPv4).range()
  const v6 = ip as ipaddr.IPv6
  // ::a.b.c.d (deprecated IPv4-compatible form) is "unicast" to ipaddr.js; never a public site.
  if (v6.match(ipaddr.IPv6.parse('::'), 96) && v6.range() !== 'loopback') {
    return v6.range() === 'unspecified' ? 'unspecified' : 'ipv4Compatible'
  }
  return v6.range()
}

function inCidr(ip: ipaddr.IPv4 | ipaddr.IPv6, cidr: string): boolean {
  try {
    const range = ipaddr.parseCIDR(cidr)
    return ip.kind() === range[0].kind() && ip.match(range)
  } catch {
    return false
  }
}
