import t from 'tap'
import { createTokenVerifier, entraIssuer, entraKeys } from '../../src/auth/token-verifier.js'
import { newSigningKey, startTestIssuer } from '../helpers/test-issuer.js'

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'

t.test('keys are cached and fetched again when a token names an unknown kid (rotation)', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const verifier = createTokenVerifier({
    issuer: entraIssuer(issuer.authority, TENANT), audiences: ['api://x'], clockSkewSeconds: 30,
    keys: entraKeys(issuer.authority, TENANT, { cooldownMs: 0 }),
  })
  const principal = await verifier.verify(await issuer.sign({ roles: ['Audit.Read'], name: 'Ada', oid: 'o-1' }))
  t.same(principal, { oid: 'o-1', name: 'Ada', tenantId: TENANT, roles: ['Audit.Read'] })
  await verifier.verify(await issuer.sign({ oid: 'o-2' }))
  t.equal(issuer.jwksFetches, 1, 'the key set is cached')

  const rotated = await newSigningKey('key-2')
  issuer.keys = [...issuer.keys, rotated]
  const next = await verifier.verify(await issuer.sign({ oid: 'o-3' }, { key: rotated }))
  t.equal(next.oid, 'o-3', 'a token signed with the new key is accepted')
  t.equal(issuer.jwksFetches, 2, 'the key set was fetched again for the unknown kid')
})

t.test('principal name falls back to preferred_username, then oid', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://x')
  const verifier = createTokenVerifier({
    issuer: entraIssuer(issuer.authority, TENANT), audiences: ['api://x'], clockSkewSeconds: 30, keys: entraKeys(issuer.authority, TENANT),
  })
  t.equal((await verifier.verify(await issuer.sign({ name: undefined, preferred_username: 'ada@contoso.example', oid: 'o-9' }))).name, 'ada@contoso.example')
  t.equal((await verifier.verify(await issuer.sign({ name: undefined, oid: 'o-10' }))).name, 'o-10')
})
