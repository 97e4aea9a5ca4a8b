import t from 'tap'
import { createTokenVerifier, entraIssuer, entraKeys } from '../../src/auth/token-verifier.js'
import { newSigningKey, startTestIssuer } from '../helpers/test-issuer.js'

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const oid = (n: number) => `${String(n).padStart(8, '0')}-1111-4222-8333-444444444444`
const [OID_1, OID_2, OID_3, OID_9, OID_10] = [oid(1), oid(2), oid(3), oid(9), oid(10)] as const

t.test('keys are cached and fetched again when a token names an unknown kid (rotation)', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const verifier = createTokenVerifier({
    issuer: entraIssuer(issuer.authority, TENANT), audiences: ['api://x'], clockSkewSeconds: 30,
    keys: entraKeys(issuer.authority, TENANT, { cooldownMs: 0 }),
  })
  const principal = await verifier.verify(await issuer.sign({ roles: ['Audit.Read'], name: 'Ada', oid: OID_1 }))
  t.same(principal, { oid: OID_1, name: 'Ada', tenantId: TENANT, roles: ['Audit.Read'] })
  await verifier.verify(await issuer.sign({ oid: OID_2 }))
  t.equal(issuer.jwksFetches, 1, 'the key set is cached')

  const rotated = await newSigningKey('key-2')
  issuer.keys = [...issuer.keys, rotated]
  const next = await verifier.verify(await issuer.sign({ oid: OID_3 }, { key: rotated }))
  t.equal(next.oid, OID_3, 'a token signed with the new key is accepted')
  t.equal(issuer.jwksFetches, 2, 'the key set was fetched again for the unknown kid')
})

t.test('principal name falls back to preferred_username, then oid', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const verifier = createTokenVerifier({
    issuer: entraIssuer(issuer.authority, TENANT), audiences: ['api://x'], clockSkewSeconds: 30, keys: entraKeys(issuer.authority, TENANT),
  })
  t.equal((await verifier.verify(await issuer.sign({ name: undefined, preferred_username: 'ada@contoso.example', oid: OID_9 }))).name, 'ada@contoso.example')
  t.equal((await verifier.verify(await issuer.sign({ name: undefined, oid: OID_10 }))).name, OID_10)
})

// Issue 9, finding 8 and 2: a numeric tid gave a 500, a numeric oid an unaudited denial, a NUL in
// the name a denial whose audit row failed. Claims that reach audit rows are checked here.
t.test('claims that reach audit rows must be what they claim to be, or the token is refused', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const verifier = createTokenVerifier({
    issuer: entraIssuer(issuer.authority, TENANT), audiences: ['api://x'], clockSkewSeconds: 30, keys: entraKeys(issuer.authority, TENANT),
  })
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['numeric tid', { tid: 42 }, /claim tid is missing or not an object id/],
    ['tid not a GUID', { tid: 'contoso' }, /claim tid/],
    ['numeric oid', { oid: 7 }, /claim oid is missing or not an object id/],
    ['oid with a NUL', { oid: `${OID_1}\u0000` }, /claim oid/],
    ['missing oid', { oid: undefined }, /claim oid/],
    ['name with a NUL', { name: 'Ada\u0000' }, /claim name/],
    ['name with a lone surrogate', { name: 'Ada \ud800' }, /claim name/],
    ['name not text', { name: { first: 'Ada' } }, /claim name/],
    ['name too long', { name: 'a'.repeat(300) }, /claim name/],
    ['preferred_username with a control character', { name: undefined, preferred_username: 'ada\u001b[31m@contoso.example' }, /claim preferred_username/],
    ['roles as a string', { roles: 'Guests.Manage' }, /claim roles/],
    ['roles with a number', { roles: ['Audit.Read', 3] }, /claim roles/],
    ['roles with a NUL', { roles: ['Audit.Read\u0000'] }, /claim roles/],
    ['an empty role', { roles: [''] }, /claim roles/],
  ]
  for (const [name, claims, reason] of refused) {
    await t.rejects(verifier.verify(await issuer.sign(claims)), { name: 'TokenRejectedError', message: reason }, name)
  }
  const upper = await verifier.verify(await issuer.sign({ oid: OID_1.toUpperCase().replace('0000', 'ABCD') }))
  t.equal(upper.oid, OID_1.replace('0000', 'abcd'), 'object ids are kept in lower case')
  t.equal(upper.tenantId, TENANT)
})

// The cache is looked up by the end of the token's signature: only the very token verified may
// be answered from it, never one that ends the same way.
t.test('the cache answers the token verified, not one that differs before its last characters', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const verifier = createTokenVerifier({
    issuer: entraIssuer(issuer.authority, TENANT), audiences: ['api://x'], clockSkewSeconds: 30, keys: entraKeys(issuer.authority, TENANT),
  })
  const token = await issuer.sign({ roles: ['Audit.Read'], oid: OID_1 })
  t.equal(verifier.cached(token), undefined, 'not verified yet')
  const principal = await verifier.verify(token)
  t.equal(verifier.cached(token), principal, 'the same principal object')
  t.equal(verifier.cached(`${token}`.split('').join('')), principal, 'for another string with the same text')
  const swap = (s: string, at: number) => `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`
  t.equal(verifier.cached(swap(token, 10)), undefined, 'a token changed in its header')
  t.equal(verifier.cached(swap(token, token.length - 40)), undefined, 'a token changed in its signature, before the last characters')
  t.equal(verifier.cached(`x${token}`), undefined, 'a longer token with the same end')
  t.equal(verifier.cached(token.slice(1)), undefined, 'a shorter one')
  t.equal(verifier.cached(token.slice(-32)), undefined, 'its last characters alone')
  await t.rejects(verifier.verify(swap(token, token.length - 40)), { name: 'TokenRejectedError' }, 'and the changed token is verified, and refused')
  t.equal(verifier.cached(token), principal, 'the verified token is still cached')
})
