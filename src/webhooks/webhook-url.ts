// Where webhooks may go (SSRF care): https only, no credentials in the URL, and never to an
// address inside the service's own networks (loopback, private, link-local, CGNAT, multicast,
// cloud metadata), nor an IPv6 one that leads to IPv4 (NAT64, 6to4, Teredo, ...). Checked when a
// subscription is created (literal addresses) and again on every delivery, after DNS resolution,
// so a name that later resolves inside is refused too.
// http://127.0.0.1 (and [::1]) only with GUESTGATE_WEBHOOK_ALLOW_HTTP_LOOPBACK, for tests and the sandbox.
import { createHash } from 'node:crypto'
import { BlockList, isIP } from 'node:net'

// Two lists: one BlockList checks an IPv4 address against its IPv6 rules too (as ::ffff:a.b.c.d),
// so with ::ffff:0:0/96 beside them every IPv4 address would be refused.
const internal4 = new BlockList()
const internal6 = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) internal4.addSubnet(net, prefix, 'ipv4')
// IPv6 ranges that carry an IPv4 address lead to that IPv4 (through the host's own stack, a NAT64
// gateway, a 6to4 or Teredo relay), so a URL there could reach 10.0.0.1 past the IPv4 rules.
// None of them is where a receiver lives, and for most the way to the IPv4 depends on relays or
// prefix lengths we cannot see: refused outright. NAT64's well-known prefix is the exception
// below. IPv6 special-purpose registry: https://www.iana.org/assignments/iana-ipv6-special-registry
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback and IPv4-compatible (deprecated, RFC 4291 2.5.5.1)
  ['::ffff:0:0', 96], // IPv4-mapped (RFC 4291 2.5.5.2)
  ['::ffff:0:0:0', 96], // IPv4-translated (RFC 2765 2.1)
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): where the IPv4 sits depends on the operator's prefix length
  ['2001::', 32], // Teredo (RFC 4380 4): the client's IPv4 is the last 32 bits, inverted
  ['2002::', 16], // 6to4 (RFC 3056 2): the IPv4 is bits 16-47
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], // unique local, link-local, site-local (deprecated, RFC 3879), multicast
] as const) internal6.addSubnet(net, prefix, 'ipv6')

// NAT64's well-known prefix (RFC 6052 2.1, https://www.rfc-editor.org/rfc/rfc6052#section-2.1) is
// what DNS64 hands out for IPv4-only receivers on IPv6-only networks, so it stays usable: the
// IPv4 in its last 32 bits must pass the IPv4 rules (RFC 6052 3.1 forbids non-global ones there anyway).
const nat64 = new BlockList()
nat64.addSubnet('64:ff9b::', 96, 'ipv6')

/** The IPv4 in the last 32 bits of an IPv6 address (one isIP() accepted). */
export function lastIPv4(address: string): string {
  const text = address.replace(/%.*$/, '')
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) return dotted.slice(1).join('.')
  const [head = '', tail] = text.split('::')
  const words = (part: string) => (part ? part.split(':').map((word) => parseInt(word, 16)) : [])
  const front = words(head)
  const back = tail === undefined ? [] : words(tail)
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back]
  const [high = 0, low = 0] = all.slice(6)
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]'])

export interface UrlRules {
  allowHttpLoopback: boolean
}

/** Whether an address may receive webhooks (the loopback exception only when allowed). */
export function addressAllowed(address: string, rules: UrlRules): boolean {
  const family = isIP(address)
  if (family === 0) return false
  if (rules.allowHttpLoopback && (address === '127.0.0.1' || address === '::1')) return true
  if (family === 4) return !internal4.check(address, 'ipv4')
  if (internal6.check(address, 'ipv6')) return false
  return !nat64.check(address, 'ipv6') || !internal4.check(lastIPv4(address), 'ipv4')
}

/** Why a webhook URL is refused, or null. */
export function webhookUrlProblem(raw: string, rules: UrlRules): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'is not an absolute URL'
  }
  if (url.username || url.password) return 'must not carry credentials'
  if (url.hash) return 'must not have a #fragment'
  const loopbackHttp = rules.allowHttpLoopback && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)
  if (url.protocol !== 'https:' && !loopbackHttp) {
    return rules.allowHttpLoopback ? 'must be https:// (or http://127.0.0.1 in this configuration)' : 'must be https://'
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0 && !addressAllowed(host, rules)) return 'must not point at a loopback, private, link-local or IPv6-to-IPv4 transition address'
  if (/^localhost$|\.localhost$|\.internal$|\.local$/i.test(host)) return 'must not point at a local host name'
  return null
}

/**
 * How audit rows and logs name a receiver URL. Its path or query is often the credential itself
 * (Slack and Teams incoming webhooks, ?token=...), so only the origin is kept, with a SHA-256 of
 * the whole URL rather than a path with parts blanked (no rule can tell which part is the secret):
 * rows about the same URL still match, and an investigator holding a URL can check it. Receiver
 * tokens are long random strings: their hash does not give them away.
 */
export function auditedUrl(raw: string): { urlOrigin: string | null; urlSha256: string } {
  let origin: string | null = null
  try {
    origin = new URL(raw).origin
  } catch {
    // Not a URL (not stored so): the hash alone.
  }
  return { urlOrigin: origin, urlSha256: createHash('sha256').update(raw).digest('hex') }
}
