// A corpus of bad access tokens against a tenant-mode app whose keys come from a JWKS served
// over HTTP (a stand-in for login.microsoftonline.com): every one is a 401 problem with
// WWW-Authenticate; none is accepted, none gets a 5xx, and the keys an attacker names in jku or
// x5u are never fetched.
import { createPublicKey, sign } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportPKCS8, generateKeyPair, importPKCS8, SignJWT, type JWTHeaderParameters } from 'jose'
import t from 'tap'
import { build } from '../helper.js'
import { newSigningKey, startTestIssuer, tenantModeEnv, type SigningKey } from '../helpers/test-issuer.js'

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const OTHER_TENANT = '11111111-2222-4333-8444-555555555555'
const AUDIENCE = 'api://guestgate-test'
const OID = '7d2a5e4c-1f0b-4a51-9a0e-3c1b2d4e5f60'
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('token corpus: 0 accepted, 0 5xx', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, AUDIENCE)
  const { app } = await build(t, tenantModeEnv(issuer, AUDIENCE))

  // The attacker's own key set, for the tokens that point at it (jku, x5u): it must never be read.
  const attacker = await newSigningKey('attacker-key')
  let attackerFetches = 0
  const attackerServer = createServer((_req, res) => {
    attackerFetches++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.jwk] }))
  })
  await new Promise<void>((resolve) => attackerServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => attackerServer.close(resolve)))
  const attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}/keys`

  const real = issuer.keys[0]!
  const now = Math.floor(Date.now() / 1000)
  const claims = { tid: TENANT, oid: OID, name: 'Corpus Caller', roles: ['Guests.Manage', 'Audit.Read'] }
  /** A token shaped like the issuer's, with any header, claims, key and algorithm. */
  const realPkcs8 = await exportPKCS8(real.privateKey)
  const forge = async (options: { claims?: Record<string, unknown>; header?: Partial<JWTHeaderParameters>; key?: SigningKey; alg?: string; secret?: Uint8Array } = {}) => {
    const alg = options.alg ?? 'RS256'
    // The same RSA key, bound to another algorithm (a CryptoKey serves one).
    const rsaKey = alg === 'RS256' || alg.startsWith('HS') ? undefined : await importPKCS8(realPkcs8, alg)
    const jwt = new SignJWT({ ...claims, ...options.claims })
      .setProtectedHeader({ alg, kid: (options.key ?? real).kid, typ: 'JWT', ...options.header })
      .setIssuer(issuer.issuer).setAudience(AUDIENCE).setIssuedAt(now - 10).setNotBefore(now - 10).setExpirationTime(now + 3600)
    return jwt.sign(options.secret ?? rsaKey ?? (options.key ?? real).privateKey)
  }

  /** A correctly RS256-signed token with a header or claims jose would not write (crit, exp as text). */
  const signedAs = (protectedHeader: Record<string, unknown>, override: Record<string, unknown> = {}) => {
    const input = `${b64(protectedHeader)}.${b64({ ...JSON.parse(Buffer.from(valid.split('.')[1]!, 'base64url').toString()), ...override })}`
    return `${input}.${sign('sha256', Buffer.from(input), realPkcs8).toString('base64url')}`
  }
  const valid = await forge()
  const [header, payload, signature] = valid.split('.') as [string, string, string]
  const publicPem = createPublicKey({ key: real.jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string
  const ec = await generateKeyPair('ES256', { extractable: true })
  const attackerJwk = { ...attacker.jwk, kid: real.kid }

  const corpus: [string, string][] = [
    ['wrong issuer: another tenant', await issuer.sign(claims, { issuer: `${issuer.authority}/${OTHER_TENANT}/v2.0` })],
    ['wrong issuer: another authority', await issuer.sign(claims, { issuer: `https://login.microsoftonline.com/${TENANT}/v2.0` })],
    ['wrong issuer: v1 form', await issuer.sign(claims, { issuer: `https://sts.windows.net/${TENANT}/` })],
    ['wrong audience', await issuer.sign(claims, { audience: 'api://someone-else' })],
    ['audience of Microsoft Graph', await issuer.sign(claims, { audience: 'https://graph.microsoft.com' })],
    ['wrong tid (right issuer)', await forge({ claims: { tid: OTHER_TENANT } })],
    ['expired', await issuer.sign(claims, { expiresIn: -120 })],
    ['not yet valid', await issuer.sign(claims, { notBefore: now + 600 })],
    ['exp as a string', signedAs({ alg: 'RS256', kid: real.kid, typ: 'JWT' }, { exp: String(now + 3600) })],
    ['nbf as a string', signedAs({ alg: 'RS256', kid: real.kid, typ: 'JWT' }, { nbf: String(now - 10) })],
    ['exp far in the past, signed', signedAs({ alg: 'RS256', kid: real.kid, typ: 'JWT' }, { exp: 1 })],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`],
    ['alg none, signature kept', `${b64({ alg: 'none', typ: 'JWT', kid: real.kid })}.${payload}.${signature}`],
    ['alg NONE', `${b64({ alg: 'NONE', typ: 'JWT' })}.${payload}.`],
    ['HS256 keyed with the public key (PEM)', await forge({ alg: 'HS256', secret: new TextEncoder().encode(publicPem) })],
    ['HS256 keyed with the public key (JWK)', await forge({ alg: 'HS256', secret: new TextEncoder().encode(JSON.stringify(real.jwk)) })],
    ['RS512 with the real key', await forge({ alg: 'RS512' })],
    ['PS256 with the real key', await forge({ alg: 'PS256' })],
    ['ES256 under the real kid', await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: real.kid }).setIssuer(issuer.issuer).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('1h').sign(ec.privateKey)],
    ['unknown kid', await forge({ key: attacker })],
    ['no kid, signed by another key', await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuer(issuer.issuer).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('1h').sign(attacker.privateKey)],
    ['jku naming the attacker\'s keys', await forge({ key: attacker, header: { jku: attackerUrl } })],
    ['x5u naming the attacker\'s certificate', await forge({ key: attacker, header: { x5u: attackerUrl } })],
    ['jwk header with the attacker\'s key under the real kid', await forge({ key: { ...attacker, kid: real.kid }, header: { jwk: attackerJwk } })],
    ['jwk header with the attacker\'s key, own kid', await forge({ key: attacker, header: { jwk: attacker.jwk } })],
    ['crit header the verifier does not know', signedAs({ alg: 'RS256', kid: real.kid, typ: 'JWT', crit: ['exp-policy'], 'exp-policy': 1 })],
    ['tampered payload', `${header}.${b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['Guests.Manage', 'Audit.Read', 'Apps.AssignRoles'] })}.${signature}`],
    ['tampered header (kid)', `${b64({ alg: 'RS256', kid: 'key-2', typ: 'JWT' })}.${payload}.${signature}`],
    ['signature of another token', `${header}.${payload}.${(await forge({ claims: { name: 'Other' } })).split('.')[2]}`],
    ['no signature', `${header}.${payload}.`],
    ['two segments', `${header}.${payload}`],
    ['four segments', `${valid}.extra`],
    ['not base64url', `${header}.%%%.${signature}`],
    ['payload not JSON', `${header}.${Buffer.from('not json').toString('base64url')}.${signature}`],
    ['numeric oid', await forge({ claims: { oid: 12345 } })],
    ['missing oid', await forge({ claims: { oid: undefined } })],
    ['oid not a GUID', await forge({ claims: { oid: 'admin' } })],
    ['numeric tid', await forge({ claims: { tid: 42 } })],
    ['missing tid', await forge({ claims: { tid: undefined } })],
    ['tid not a GUID', await forge({ claims: { tid: 'contoso.onmicrosoft.com' } })],
    ['roles as a string', await forge({ claims: { roles: 'Guests.Manage' } })],
    ['roles as an object', await forge({ claims: { roles: { 0: 'Guests.Manage' } } })],
    ['roles with a number', await forge({ claims: { roles: ['Guests.Manage', 1] } })],
    ['name with a NUL', await forge({ claims: { name: 'Eve\u0000' } })],
    ['name with a lone surrogate', await forge({ claims: { name: 'Eve \ud800' } })],
    ['roles with a control character', await forge({ claims: { roles: ['Guests.Manage\u001b'] } })],
    ['missing exp', `${header}.${b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp: undefined })}.${signature}`],
  ]

  let accepted = 0
  let serverErrors = 0
  for (const [name, token] of corpus) {
    for (const url of ['/v1/audit/events', '/v1/me/permissions']) {
      const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
      if (res.statusCode < 400) accepted++
      if (res.statusCode >= 500) serverErrors++
      t.equal(res.statusCode, 401, `${name} (${url}): 401 ${res.statusCode === 401 ? `(${res.json<{ detail: string }>().detail})` : res.body}`)
      t.match(res.headers['content-type'], /application\/problem\+json/)
      t.match(String(res.headers['www-authenticate']), /^Bearer realm="guestgate", error="invalid_(token|request)", error_description="[^"\\]*(\\.[^"\\]*)*"$/, `${name}: a well-formed WWW-Authenticate (${String(res.headers['www-authenticate'])})`)
      t.notOk(res.body.includes(token.slice(0, 40)), `${name}: the token is not echoed`)
    }
  }
  t.equal(accepted, 0, `${corpus.length} bad tokens: none accepted`)
  t.equal(serverErrors, 0, 'none answered with a 5xx')
  t.equal(attackerFetches, 0, 'the keys named in jku and x5u were never fetched')

  const good = await app.inject({ method: 'GET', url: '/v1/me/permissions', headers: { authorization: `Bearer ${valid}` } })
  t.equal(good.statusCode, 200, 'the corpus\'s own valid token passes: the refusals are the bad parts')
  t.comment(`token corpus: ${corpus.length} tokens x 2 routes, ${accepted} accepted, ${serverErrors} 5xx`)
})
