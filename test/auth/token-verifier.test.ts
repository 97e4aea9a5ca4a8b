import t from 'tap'
import { createTokenVerifier, entraIssuer, entraKeys, type EntraKeysOptions } from '../../src/auth/token-verifier.js'
import { newSigningKey, startTestIssuer } from '../helpers/test-issuer.js'
import { startKeyEndpoint, type KeyEndpoint, type KeyEndpointMode } from './key-endpoint.js'

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

// The key endpoint failing is not the caller's fault: the token is neither accepted nor refused
// (SigningKeysUnavailableError, a 503 at the edge), and it is accepted once the endpoint is back.
// Before: every one of these was a TokenRejectedError (a 401).
const failedFetches: [KeyEndpointMode, object][] = [
  ['error', { name: 'JOSEError', message: /200 OK/ }],
  ['not-json', { name: 'JOSEError', message: /JSON/ }],
  ['not-a-key-set', { name: 'JWKSInvalid' }],
  ['reset', { name: 'TypeError' }],
  ['refused', { name: 'TypeError', cause: { code: 'ECONNREFUSED' } }],
  // Last: fetch (undici) keeps something of a connection whose request timed out, and the next
  // 'refused' would then fail with "other side closed" instead of ECONNREFUSED (unavailable still).
  ['hang', { name: 'JWKSTimeout' }],
]

function verifierOf(endpoint: KeyEndpoint, options: EntraKeysOptions = {}) {
  const failures: { error: unknown; lastKeys: { fetchedAt: Date; usable: boolean } | undefined }[] = []
  const verifier = createTokenVerifier({
    issuer: endpoint.issuer, audiences: ['api://x'], clockSkewSeconds: 30, tenantId: TENANT,
    keys: entraKeys(endpoint.authority, TENANT, { timeoutMs: 200, ...options, onFetchFailure: (error, lastKeys) => failures.push({ error, lastKeys }) }),
  })
  return { verifier, failures }
}

t.test('a key endpoint that fails is SigningKeysUnavailableError with its cause, not a refusal; the token passes once it is back', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const endpoint = await startKeyEndpoint(t, issuer)
  const token = await issuer.sign({ oid: OID_1 }, { issuer: endpoint.issuer })
  for (const [mode, cause] of failedFetches) {
    await endpoint.setMode(mode)
    const { verifier, failures } = verifierOf(endpoint)
    const error = await verifier.verify(token).then(() => undefined, (e: unknown) => e as Error)
    t.match(error, { name: 'SigningKeysUnavailableError', message: 'The signing keys could not be fetched' }, `${mode}: unavailable, not refused`)
    t.match(error?.cause, cause, `${mode}: with its cause`)
    t.equal(failures.length, 1, `${mode}: reported once`)
    t.equal(failures[0]?.lastKeys, undefined, `${mode}: no keys were ever fetched`)
    t.notOk(JSON.stringify(failures).includes(token.split('.')[2]!), `${mode}: the report does not hold the token`)
    await endpoint.setMode('up')
    t.equal((await verifier.verify(token)).oid, OID_1, `${mode}: accepted once the endpoint is back`)
  }
})

t.test('keys fetched before keep verifying tokens of their kids while the endpoint fails; bad tokens stay refused', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const endpoint = await startKeyEndpoint(t, issuer)
  const sign = (claims: Record<string, unknown>, options: Parameters<typeof issuer.sign>[1] = {}) => issuer.sign(claims, { issuer: endpoint.issuer, ...options })
  // cacheMaxAgeMs 0: every verification asks the endpoint (the keys are always past their age).
  const { verifier, failures } = verifierOf(endpoint, { cacheMaxAgeMs: 0, cooldownMs: 0, retryAfterFailureMs: 0 })
  t.equal((await verifier.verify(await sign({ oid: OID_1 }))).oid, OID_1)

  await endpoint.setMode('error')
  const before = endpoint.requests
  t.equal((await verifier.verify(await sign({ oid: OID_2 }))).oid, OID_2, 'a token of a known kid passes with the keys fetched before')
  t.equal(endpoint.requests, before + 1, 'after asking the endpoint again')
  t.equal(failures.length, 1)
  t.match(failures[0]?.lastKeys, { usable: true }, 'reported as served from the keys fetched before')
  t.ok(failures[0]!.lastKeys!.fetchedAt.getTime() <= Date.now(), 'with when they were fetched')
  await t.rejects(verifier.verify(await sign({}, { key: await newSigningKey('key-1') })), { name: 'TokenRejectedError', message: /signature/ }, 'a bad signature is still refused')
  await t.rejects(verifier.verify(await sign({}, { expiresIn: -120 })), { name: 'TokenRejectedError', message: /expired/ }, 'an expired token is still refused')
  await t.rejects(verifier.verify(await sign({}, { audience: 'api://other' })), { name: 'TokenRejectedError', message: /audience/ }, 'a wrong audience is still refused')
  const unknown = await sign({ oid: OID_3 }, { key: await newSigningKey('key-2') })
  await t.rejects(verifier.verify(unknown), { name: 'SigningKeysUnavailableError' }, 'a kid the keys fetched before do not have may be new: unavailable, not refused')

  await endpoint.setMode('up')
  await t.rejects(verifier.verify(unknown), { name: 'TokenRejectedError', message: /unknown key/ }, 'the endpoint back, a kid it does not serve is refused')

  // Keys older than staleIfErrorMs are not trusted while the endpoint fails.
  const { verifier: strict } = verifierOf(endpoint, { cacheMaxAgeMs: 0, cooldownMs: 0, retryAfterFailureMs: 0, staleIfErrorMs: 0 })
  t.equal((await strict.verify(await sign({ oid: OID_1 }))).oid, OID_1)
  await endpoint.setMode('error')
  await t.rejects(strict.verify(await sign({ oid: OID_2 })), { name: 'SigningKeysUnavailableError' }, 'keys past staleIfErrorMs: unavailable')
})

t.test('after a failed fetch the endpoint is not asked again for retryAfterFailureMs while there are keys to answer from', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const endpoint = await startKeyEndpoint(t, issuer)
  const sign = (claims: Record<string, unknown>, options: Parameters<typeof issuer.sign>[1] = {}) => issuer.sign(claims, { issuer: endpoint.issuer, ...options })
  const { verifier, failures } = verifierOf(endpoint, { cacheMaxAgeMs: 0, cooldownMs: 0, retryAfterFailureMs: 60_000 })
  await verifier.verify(await sign({ oid: OID_1 }))
  await endpoint.setMode('hang')
  t.equal((await verifier.verify(await sign({ oid: OID_2 }))).oid, OID_2, 'the fetch timed out: the keys fetched before answer')
  const asked = endpoint.requests
  t.equal((await verifier.verify(await sign({ oid: OID_3 }))).oid, OID_3, 'the next token too')
  await t.rejects(verifier.verify(await sign({}, { key: await newSigningKey('key-2') })), { name: 'SigningKeysUnavailableError' }, 'an unknown kid: unavailable')
  t.equal(endpoint.requests, asked, 'without asking the endpoint again (nor waiting for it)')
  t.equal(failures.length, 1, 'one failure, reported once')
})
