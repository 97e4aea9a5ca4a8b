// Where webhooks may go (SSRF care): https only, no credentials in the URL, and never to an
// address inside the service's own networks (loopback, private, link-local, CGNAT, multicast,
// cloud metadata). Checked when a subscription is created (literal addresses) and again on
// every delivery, after DNS resolution, so a name that later resolves inside is refused too.
// http://127.0.0.1 (and [::1]) only with GUESTGATE_WEBHOOK_ALLOW_HTTP_LOOPBACK, for tests and the sandbox.
import { BlockList, isIP } from 'node:net'

const internal = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) internal.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96]] as const) internal.addSubnet(net, prefix, 'ipv6')

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]'])

export interface UrlRules {
  allowHttpLoopback: boolean
}

/** Whether an address may receive webhooks (the loopback exception only when allowed). */
export function addressAllowed(address: string, rules: UrlRules): boolean {
  const family = isIP(address)
  if (family === 0) return false
  if (rules.allowHttpLoopback && (address === '127.0.0.1' || address === '::1')) return true
  return !internal.check(address, family === 4 ? 'ipv4' : 'ipv6')
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
  if (isIP(host) !== 0 && !addressAllowed(host, rules)) return 'must not point at a loopback, private or link-local address'
  if (/^localhost$|\.localhost$|\.internal$|\.local$/i.test(host)) return 'must not point at a local host name'
  return null
}
