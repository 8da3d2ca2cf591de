// SSRF guard for webhook URLs. A URL is checked when a subscription is saved and again before
// every connection: the host is resolved once, every address it resolves to must be public, and
// the connection is made to that checked address (pinned), so a DNS answer that changes between
// the check and the connect (DNS rebinding) cannot send a delivery inside the network.
// WEBHOOK_ALLOW_PRIVATE_NETWORKS=true lifts the address rule and allows plain http://, for local
// receivers during development.
import { BlockList, isIP } from 'node:net'
import { lookup } from 'node:dns/promises'

export interface ResolvedAddress { address: string; family: 4 | 6 }
/** Resolves a host name to every address it has; the seam tests use instead of real DNS. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

export const systemResolver: Resolver = async function systemResolver (hostname) {
  const all = await lookup(hostname, { all: true, verbatim: true })
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

// Not reachable on the public internet, or not meant to be reached by us: RFC 6890 special-purpose
// ranges, cloud metadata (169.254.169.254 is in link-local), multicast and reserved.
const blocked = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]
] as const) blocked.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of [
  ['::', 96], ['::ffff:0:0:0', 96], ['64:ff9b:1::', 48], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
  ['100::', 64], ['2001:db8::', 32], ['2001::', 23]
] as const) blocked.addSubnet(net, prefix, 'ipv6')

/** The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16). */
function embeddedIpv4 (address: string): string | undefined {
  const lower = address.toLowerCase()
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted !== null) return dotted[1]
  const groups = expandIpv6(lower)
  if (groups === undefined) return undefined
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return v4(groups[6], groups[7]) // ::ffff:x:y
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return v4(groups[6], groups[7])
  if (groups[0] === 0x2002) return v4(groups[1], groups[2])
  return undefined
}

function expandIpv6 (address: string): number[] | undefined {
  // A dotted IPv4 tail (e.g. 64:ff9b:0:0:0:0:10.0.0.1) is two groups.
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address)
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(2).map(Number)
    address = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  if (address.includes('.')) return undefined
  const [head, tail] = address.split('::') as [string, string | undefined]
  const parse = (s: string) => s === '' ? [] : s.split(':').map((g) => parseInt(g, 16))
  const h = parse(head)
  const t = tail === undefined ? [] : parse(tail)
  const fill = 8 - h.length - t.length
  if (fill < 0 || (tail === undefined && fill !== 0)) return undefined
  return [...h, ...Array<number>(fill).fill(0), ...t]
}

/** True when the address is loopback, private, link-local, metadata or otherwise not public. */
export function isPrivateAddress (address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const family = isIP(bare)
  if (family === 4) return blocked.check(bare, 'ipv4')
  if (family === 6) {
    const v4 = embeddedIpv4(bare)
    if (v4 !== undefined) return blocked.check(v4, 'ipv4')
    return blocked.check(bare, 'ipv6')
  }
  return true
}

export class UnsafeUrl extends Error {}

/**
 * `resolve` with a deadline. A resolver that never answers would otherwise hold whoever waits on
 * it (an admin saving a subscription) for as long as the OS resolver likes; past `ms` the host is
 * refused. The lookup itself cannot be cancelled (getaddrinfo): its late answer is dropped.
 */
export function resolverWithDeadline (resolve: Resolver, ms: number): Resolver {
  return async function resolveWithin (hostname) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new UnsafeUrl(`host '${hostname}' did not resolve within ${ms} ms (WEBHOOK_URL_CHECK_TIMEOUT_MS); a URL is saved only once its host name resolves within that time: retry when its DNS answers, or use an IP address`)), ms)
    })
    try {
      return await Promise.race([resolve(hostname), late])
    } finally {
      clearTimeout(timer)
    }
  }
}

export interface GuardOptions { allowPrivateNetworks: boolean; resolve: Resolver }

/** Syntax rules checked without DNS: scheme, no credentials, a host. Returns the parsed URL. */
export function parseWebhookUrl (raw: string, allowPrivateNetworks: boolean): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UnsafeUrl('is not an absolute URL')
  }
  if (url.protocol !== 'https:' && !(allowPrivateNetworks && url.protocol === 'http:')) {
    throw new UnsafeUrl(allowPrivateNetworks ? 'must use https:// or http://' : 'must use https:// (plain http:// only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)')
  }
  if (url.username !== '' || url.password !== '') throw new UnsafeUrl('must not carry credentials (user:password@); authenticate the request by its signature')
  if (url.hostname === '') throw new UnsafeUrl('has no host')
  return url
}

/**
 * Resolve the URL's host and check every address. Returns the address to connect to (the first
 * one), so the caller connects to exactly what was checked.
 */
export async function resolveSafely (url: URL, opts: GuardOptions): Promise<ResolvedAddress> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const literal = isIP(host)
  let addresses: ResolvedAddress[]
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }]
  } else {
    try {
      addresses = await opts.resolve(host)
    } catch (err) {
      if (err instanceof UnsafeUrl) throw err
      throw new UnsafeUrl(`host '${host}' does not resolve (${(err as { code?: string }).code ?? (err as Error).message})`)
    }
    if (addresses.length === 0) throw new UnsafeUrl(`host '${host}' does not resolve`)
  }
  if (!opts.allowPrivateNetworks) {
    const inside = addresses.find((a) => isPrivateAddress(a.address))
    if (inside !== undefined) {
      throw new UnsafeUrl(`resolves to ${inside.address}, a loopback, private, link-local or reserved address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)`)
    }
  }
  return addresses[0]
}
