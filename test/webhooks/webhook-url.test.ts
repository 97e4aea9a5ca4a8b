// The webhook URL rules on their own: IPv6 addresses that lead to an IPv4 one (NAT64, 6to4,
// Teredo, IPv4-compatible, -mapped and -translated) are refused when a subscription names one
// and when a name resolves to one at delivery, unless it is NAT64's well-known prefix in front
// of a public IPv4.
import type { LookupAddress } from 'node:dns'
import t from 'tap'
import { guardedLookup, post, type DeliverySettings } from '../../src/webhooks/webhook-deliveries.js'
import { addressAllowed, auditedUrl, lastIPv4, webhookUrlProblem } from '../../src/webhooks/webhook-url.js'

const strict = { allowHttpLoopback: false }
const sandbox = { allowHttpLoopback: true }

// Each leads to an internal IPv4 (or, for the relays, may): refused in any configuration.
const refused: [string, string][] = [
  ['64:ff9b::a00:1', 'NAT64 well-known prefix, RFC 6052: 10.0.0.1'],
  ['64:ff9b::7f00:1', 'NAT64 well-known prefix: 127.0.0.1'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 well-known prefix: 169.254.169.254 (cloud metadata)'],
  ['64:ff9b::', 'NAT64 well-known prefix: 0.0.0.0'],
  ['64:ff9b:1::a00:1', 'local-use NAT64, RFC 8215, /96 form'],
  ['64:ff9b:1:a00:0:100::', 'local-use NAT64, RFC 8215, /48 form of 10.0.0.1'],
  ['64:ff9b:1:808:0:808::', 'local-use NAT64 of a public IPv4: its prefix length is unknown, so refused'],
  ['::a00:1', 'IPv4-compatible, RFC 4291: 10.0.0.1'],
  ['::7f00:1', 'IPv4-compatible: 127.0.0.1'],
  ['::808:808', 'IPv4-compatible of a public IPv4: deprecated, refused'],
  ['::ffff:0:a00:1', 'IPv4-translated, RFC 2765: 10.0.0.1'],
  ['::ffff:0:808:808', 'IPv4-translated of a public IPv4'],
  ['::ffff:a00:1', 'IPv4-mapped: 10.0.0.1'],
  ['2002:a00:1::1', '6to4, RFC 3056: 10.0.0.1'],
  ['2002:c0a8:101::', '6to4: 192.168.1.1'],
  ['2002:808:808::1', '6to4 of a public IPv4: relayed, refused'],
  ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'Teredo, RFC 4380: client 10.0.0.1 (inverted)'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo of a public client: relayed, refused'],
  ['fec0::1', 'site-local (deprecated)'],
]
const allowed: [string, string][] = [
  ['64:ff9b::808:808', 'NAT64 well-known prefix of 8.8.8.8 (DNS64 on an IPv6-only network)'],
  ['64:ff9b::8.8.8.8', 'the same, dotted'],
  ['2606:4700:4700::1111', 'global unicast'],
  ['2001:4860:4860::8888', 'global unicast beside Teredo\'s 2001::/32'],
  ['2003::1', 'global unicast beside 6to4\'s 2002::/16'],
  ['8.8.8.8', 'public IPv4'],
]

t.test('addresses: the IPv4 behind an IPv6 one is not a way in', async (t) => {
  for (const [address, what] of refused) {
    t.notOk(addressAllowed(address, strict), `${address}: ${what}`)
    t.notOk(addressAllowed(address, sandbox), `${address} (loopback allowed for tests): ${what}`)
  }
  for (const [address, what] of allowed) t.ok(addressAllowed(address, strict), `${address}: ${what}`)
  t.ok(addressAllowed('::1', sandbox), 'the loopback exception still holds for ::1 itself')
  t.notOk(addressAllowed('::1', strict))
  t.notOk(addressAllowed('::', strict))
})

t.test('subscription URLs: the same rules on literal addresses', async (t) => {
  for (const [address, what] of refused) {
    t.match(webhookUrlProblem(`https://[${address}]/hook`, strict), /must not point at/, `${address}: ${what}`)
  }
  t.match(webhookUrlProblem('https://[64:ff9b::10.0.0.1]/hook', strict), /must not point at/, 'dotted NAT64')
  t.match(webhookUrlProblem('https://[::10.0.0.1]/hook', strict), /must not point at/, 'dotted IPv4-compatible')
  t.match(webhookUrlProblem('https://[::ffff:0:10.0.0.1]/hook', strict), /must not point at/, 'dotted IPv4-translated')
  t.equal(webhookUrlProblem('https://[64:ff9b::808:808]/hook', strict), null)
  t.equal(webhookUrlProblem('https://[2606:4700:4700::1111]/hook', strict), null)
  // With ::ffff:0:0/96 in the same BlockList as the IPv4 rules, every IPv4 address was refused.
  t.equal(webhookUrlProblem('https://8.8.8.8/hook', strict), null, 'a public IPv4 address')
})

t.test('lastIPv4 reads the last 32 bits of any spelling', async (t) => {
  t.equal(lastIPv4('64:ff9b::a00:1'), '10.0.0.1')
  t.equal(lastIPv4('64:ff9b:0:0:0:0:a9fe:a9fe'), '169.254.169.254')
  t.equal(lastIPv4('64:ff9b::10.0.0.1'), '10.0.0.1')
  t.equal(lastIPv4('64:ff9b::1'), '0.0.0.1')
  t.equal(lastIPv4('64:ff9b:0:0:0:0:a00::'), '10.0.0.0')
  t.equal(lastIPv4('64:ff9b::'), '0.0.0.0')
})

// What DNS answers at delivery time: a name that resolves only inside is refused before a connection.
const answering = (answers: LookupAddress[]) => guardedLookup(strict, (_hostname, _options, callback) => callback(null, answers))
const resolveAll = (lookup: ReturnType<typeof guardedLookup>) => new Promise<{ err: NodeJS.ErrnoException | null; addresses: unknown }>((resolve) => {
  lookup('receiver.example', { all: true }, (err, addresses) => resolve({ err, addresses }))
})

t.test('delivery: a name resolving to an IPv4-embedding IPv6 address is refused at connect time', async (t) => {
  for (const [address, what] of refused) {
    const { err } = await resolveAll(answering([{ address, family: 6 }]))
    t.equal(err?.code, 'EADDRNOTALLOWED', `${address}: ${what}`)
  }
  const mixed = await resolveAll(answering([
    { address: '2002:a00:1::1', family: 6 }, { address: '64:ff9b::a00:1', family: 6 },
    { address: '64:ff9b::808:808', family: 6 }, { address: '8.8.4.4', family: 4 },
  ]))
  t.equal(mixed.err, null)
  t.same(mixed.addresses, [{ address: '64:ff9b::808:808', family: 6 }, { address: '8.8.4.4', family: 4 }], 'only the outside addresses are used')
  const one = await new Promise<{ address: string; family?: number }>((resolve, reject) => {
    answering([{ address: '64:ff9b::a00:1', family: 6 }, { address: '64:ff9b::808:808', family: 6 }])('receiver.example', {}, (err, address, family) => {
      if (err) reject(err)
      else resolve({ address: address as string, family })
    })
  })
  t.same(one, { address: '64:ff9b::808:808', family: 6 })
  const ipv4Only = await resolveAll(answering([{ address: '93.184.215.14', family: 4 }]))
  t.same(ipv4Only, { err: null, addresses: [{ address: '93.184.215.14', family: 4 }] }, 'a receiver with only a public IPv4 address')
})

t.test('delivery: a literal IPv4-embedding address is refused without a connection', async (t) => {
  const settings: DeliverySettings = { allowHttpLoopback: false, timeoutMs: 2000, retryLimit: 0, retryDelaySeconds: 1 }
  for (const address of ['64:ff9b::a00:1', '2002:a00:1::1', '2001:0:4136:e378:8000:63bf:f5ff:fffe', '::a00:1', '::ffff:0:a00:1', '64:ff9b:1::a00:1']) {
    const result = await post(`https://[${address}]/hook`, '{}', {}, settings)
    t.match(result, { statusCode: null, error: /^URL refused: / }, address)
  }
})

t.test('audit rows name a URL by its origin and hash, never its path or query', async (t) => {
  const url = 'https://hooks.example.com/services/T000/B000/XXXXsecretpath?token=s3cr3t'
  const named = auditedUrl(url)
  t.same(named, { urlOrigin: 'https://hooks.example.com', urlSha256: named.urlSha256 })
  t.match(named.urlSha256, /^[0-9a-f]{64}$/)
  t.notMatch(JSON.stringify(named), /s3cr3t|secretpath|services/)
  t.equal(auditedUrl(url).urlSha256, named.urlSha256, 'the same URL, the same hash')
  t.not(auditedUrl(url.replace('s3cr3t', 's3cr3u')).urlSha256, named.urlSha256, 'another token, another hash')
  t.same(auditedUrl('not a url').urlOrigin, null)
})
