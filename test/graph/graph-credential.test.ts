import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity'
import t from 'tap'
import { startTokenEndpoint } from '../helpers/token-endpoint.js'
import {
  createGraphCredential,
  describeCredential,
  type GraphCredentialSettings,
  graphCredentialSettingsFromEnv,
} from '../../src/graph/graph-credential.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const CLIENT = 'b0000000-0000-4000-8000-000000000004'
const SECRET = 'very-secret-value'

t.test('settings from the AZURE_* variables', async (t) => {
  t.test('no variables: system-assigned managed identity', async (t) => {
    t.same(graphCredentialSettingsFromEnv({}), { kind: 'managedIdentity' })
  })

  t.test('only AZURE_CLIENT_ID: user-assigned managed identity', async (t) => {
    t.same(graphCredentialSettingsFromEnv({ AZURE_CLIENT_ID: CLIENT }), { kind: 'managedIdentity', clientId: CLIENT })
  })

  t.test('blank values count as unset', async (t) => {
    t.same(graphCredentialSettingsFromEnv({ AZURE_CLIENT_SECRET: '  ', AZURE_CLIENT_ID: '' }), { kind: 'managedIdentity' })
  })

  t.test('tenant, client and secret: client secret', async (t) => {
    const env = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: SECRET, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' }
    t.same(graphCredentialSettingsFromEnv(env), {
      kind: 'clientSecret',
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      authorityHost: 'https://login.microsoftonline.us',
    })
  })

  t.test('a secret wins over a certificate, as in EnvironmentCredential', async (t) => {
    const env = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: SECRET, AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem' }
    t.equal(graphCredentialSettingsFromEnv(env).kind, 'clientSecret')
  })

  t.test('certificate with password and chain', async (t) => {
    const env = {
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT,
      AZURE_CLIENT_CERTIFICATE_PATH: '/etc/guestgate/cert.pem',
      AZURE_CLIENT_CERTIFICATE_PASSWORD: 'pem-password',
      AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: 'True',
    }
    t.same(graphCredentialSettingsFromEnv(env), {
      kind: 'clientCertificate',
      tenantId: TENANT,
      clientId: CLIENT,
      certificatePath: '/etc/guestgate/cert.pem',
      certificatePassword: 'pem-password',
      sendCertificateChain: true,
    })
  })

  t.test('certificate without password', async (t) => {
    const env = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem' }
    t.same(graphCredentialSettingsFromEnv(env), { kind: 'clientCertificate', tenantId: TENANT, clientId: CLIENT, certificatePath: '/c.pem' })
  })

  t.test('federated token file: workload identity', async (t) => {
    const env = { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT, AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' }
    t.same(graphCredentialSettingsFromEnv(env), {
      kind: 'workloadIdentity',
      tenantId: TENANT,
      clientId: CLIENT,
      tokenFilePath: '/var/run/secrets/azure/tokens/azure-identity-token',
    })
  })

  t.test('credential material without tenant or client id is a configuration error', async (t) => {
    t.throws(() => graphCredentialSettingsFromEnv({ AZURE_CLIENT_SECRET: SECRET, AZURE_CLIENT_ID: CLIENT }), {
      message: /AZURE_CLIENT_SECRET is set but AZURE_TENANT_ID is not/,
    })
    t.throws(() => graphCredentialSettingsFromEnv({ AZURE_FEDERATED_TOKEN_FILE: '/t' }), {
      message: /AZURE_TENANT_ID and AZURE_CLIENT_ID/,
    })
    // t.throws returns the error, so the check below runs whether or not the call throws.
    const error = t.throws(() => graphCredentialSettingsFromEnv({ AZURE_CLIENT_SECRET: SECRET })) as Error
    t.notMatch(error.message, SECRET, 'the secret is not in the message')
  })

  t.test('non-string config values are ignored', async (t) => {
    t.same(graphCredentialSettingsFromEnv({ AZURE_CLIENT_ID: 42, GRAPH_MAX_RETRIES: 3 }), { kind: 'managedIdentity' })
  })
})

t.test('createGraphCredential picks the matching @azure/identity class', async (t) => {
  t.ok((await createGraphCredential({ kind: 'clientSecret', tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET })) instanceof ClientSecretCredential)
  t.ok(
    (await createGraphCredential({ kind: 'clientCertificate', tenantId: TENANT, clientId: CLIENT, certificatePath: '/nonexistent.pem' })) instanceof
      ClientCertificateCredential,
  )
  t.ok((await createGraphCredential({ kind: 'managedIdentity' })) instanceof ManagedIdentityCredential)
  t.ok((await createGraphCredential({ kind: 'managedIdentity', clientId: CLIENT })) instanceof ManagedIdentityCredential)
  t.ok(
    (await createGraphCredential({ kind: 'workloadIdentity', tenantId: TENANT, clientId: CLIENT, tokenFilePath: '/nonexistent' })) instanceof
      WorkloadIdentityCredential,
  )
})

t.test('the static credential returns its token with a far expiry', async (t) => {
  const credential = await createGraphCredential({ kind: 'static', token: 'sandbox-graph-token' })
  const first = await credential.getToken(['https://graph.microsoft.com/.default'])
  t.equal(first?.token, 'sandbox-graph-token')
  t.ok((first?.expiresOnTimestamp ?? 0) > Date.now() + 365 * 24 * 3_600_000)
  t.same(await credential.getToken('x'), first)
})

t.test('describeCredential never reveals a secret', async (t) => {
  const all: GraphCredentialSettings[] = [
    { kind: 'clientSecret', tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, authorityHost: 'https://login.microsoftonline.com' },
    { kind: 'clientCertificate', tenantId: TENANT, clientId: CLIENT, certificatePath: '/c.pem', certificatePassword: SECRET },
    { kind: 'managedIdentity', clientId: CLIENT },
    { kind: 'workloadIdentity', tenantId: TENANT, clientId: CLIENT, tokenFilePath: '/t' },
    { kind: 'static', token: SECRET },
  ]
  for (const settings of all) {
    const description = describeCredential(settings)
    t.equal(description.kind, settings.kind)
    t.notMatch(JSON.stringify(description), SECRET, `${settings.kind} hides its secret`)
  }
  t.same(describeCredential(all[0] as GraphCredentialSettings), {
    kind: 'clientSecret',
    tenantId: TENANT,
    clientId: CLIENT,
    authorityHost: 'https://login.microsoftonline.com',
  })
  t.same(describeCredential(all[2] as GraphCredentialSettings), { kind: 'managedIdentity', clientId: CLIENT })
})

t.test('a non-Microsoft authority host is used as is (no instance discovery at the public login host)', async (t) => {
  const tenantId = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
  const endpoint = await startTokenEndpoint(t, { tenantId, clientId: CLIENT, clientSecret: SECRET })
  const settings = graphCredentialSettingsFromEnv({ AZURE_TENANT_ID: tenantId, AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: SECRET, AZURE_AUTHORITY_HOST: endpoint.authorityHost })
  const token = await (await createGraphCredential(settings)).getToken('https://graph.microsoft.com/.default')
  t.type(token?.token, 'string')
  t.same(endpoint.grants, [{ clientId: CLIENT, scope: 'https://graph.microsoft.com/.default', secretMatched: true }])
})
