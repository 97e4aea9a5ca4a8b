import t from 'tap'
import { ConfigError, describeConfig, loadConfig, SANDBOX_TENANT_ID } from '../src/config.js'

t.test('no configuration at all is sandbox mode with embedded defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.mode, 'sandbox')
  t.equal(config.port, 3000)
  t.equal(config.tenantId, SANDBOX_TENANT_ID)
  t.equal(config.databaseUrl, undefined, 'embedded Postgres')
  t.equal(config.graphBaseUrl, undefined, 'embedded Graph simulator')
  t.match(config.policyFile, /config\/policy\.sandbox\.yaml$/)
})

t.test('a tenant id selects tenant mode, which requires its settings and names each missing one', async (t) => {
  const error = t.throws(() => loadConfig({ GUESTGATE_TENANT_ID: '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b' })) as ConfigError
  t.type(error, ConfigError)
  for (const name of ['GUESTGATE_API_AUDIENCE', 'DATABASE_URL', 'GUESTGATE_POLICY_FILE', 'GUESTGATE_APP_ID']) {
    t.ok(error.problems.some((p) => p.startsWith(name)), `${name} named`)
  }
  const config = loadConfig({
    GUESTGATE_TENANT_ID: '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b', GUESTGATE_API_AUDIENCE: 'api://guestgate, 0f0a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b',
    DATABASE_URL: 'postgresql://app:s3cret@db:5432/guestgate', GUESTGATE_POLICY_FILE: '/etc/guestgate/policy.yaml', AZURE_CLIENT_ID: '0f0a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b',
  })
  t.equal(config.mode, 'tenant')
  t.same(config.audiences, ['api://guestgate', '0f0a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'])
  t.equal(config.appId, '0f0a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b')
  t.equal(config.graphBaseUrl, 'https://graph.microsoft.com/v1.0')
  t.notMatch(JSON.stringify(describeConfig(config)), /s3cret/, 'the database password is not described')
})

t.test('bad values stop the start naming every bad variable, never echoing secrets', async (t) => {
  const error = t.throws(() => loadConfig({
    PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://root:hunter2@db/x', GUESTGATE_TENANT_ID: 'not-a-guid',
    AZURE_AUTHORITY_HOST: 'http://login.example', GUESTGATE_APPLY_MIGRATIONS: 'maybe',
  })) as ConfigError
  for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'GUESTGATE_TENANT_ID', 'AZURE_AUTHORITY_HOST', 'GUESTGATE_APPLY_MIGRATIONS']) {
    t.ok(error.problems.some((p) => p.startsWith(`${name}:`)), `${name} named`)
  }
  t.notMatch(error.message, /hunter2/, 'secret values are not shown')
  t.match(error.message, /eighty/, 'non-secret values are shown to help')
})

t.test('the reconciler must wait longer than a Graph call may take', async (t) => {
  const error = t.throws(() => loadConfig({ GRAPH_TIMEOUT_MS: '60000', GUESTGATE_RECONCILE_AFTER_SECONDS: '60' })) as ConfigError
  t.match(error.message, /GUESTGATE_RECONCILE_AFTER_SECONDS: must be longer than GRAPH_TIMEOUT_MS/)
  t.equal(loadConfig({ GRAPH_TIMEOUT_MS: '3000', GUESTGATE_RECONCILE_AFTER_SECONDS: '4' }).reconcile.afterSeconds, 4)
})
