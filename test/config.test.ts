import path from 'node:path'
import t from 'tap'
import { ConfigError, ConfigSchema, describeConfig, isLoopback, loadConfig, SANDBOX_TENANT_ID } from '../src/config.js'

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const CLIENT = '0f0a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const TENANT_ENV = {
  GUESTGATE_TENANT_ID: TENANT, GUESTGATE_API_AUDIENCE: `api://guestgate, ${CLIENT}`,
  DATABASE_URL: 'postgresql://app:s3cret@db:5432/guestgate', GUESTGATE_POLICY_FILE: '/etc/guestgate/policy.yaml', AZURE_CLIENT_ID: CLIENT,
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('no configuration at all is sandbox mode with embedded defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.mode, 'sandbox')
  t.equal(config.port, 3000)
  t.equal(config.tenantId, SANDBOX_TENANT_ID)
  t.equal(config.databaseUrl, undefined, 'embedded Postgres')
  t.equal(config.graphBaseUrl, undefined, 'embedded Graph simulator')
  t.match(config.policyFile, /config\/policy\.sandbox\.yaml$/)
  t.equal(config.shutdownGraceMs, 30_000, 'a 30 s shutdown grace')
  t.same(config.corsOrigins, [], 'no cross-origin access by default')
})

t.test('a tenant id selects tenant mode, which requires its settings and names each missing one', async (t) => {
  const problems = problemsOf({ GUESTGATE_TENANT_ID: TENANT })
  for (const name of ['GUESTGATE_API_AUDIENCE', 'DATABASE_URL', 'GUESTGATE_POLICY_FILE', 'GUESTGATE_APP_ID']) {
    t.ok(problems.some((p) => p.startsWith(name)), `${name} named`)
  }
  const config = loadConfig(TENANT_ENV)
  t.equal(config.mode, 'tenant')
  t.same(config.audiences, ['api://guestgate', CLIENT])
  t.equal(config.appId, CLIENT)
  t.equal(config.graphBaseUrl, 'https://graph.microsoft.com/v1.0')
  t.notMatch(JSON.stringify(describeConfig(config)), /s3cret/, 'the database password is not described')
})

t.test('bad values stop the start naming every bad variable, never echoing secrets', async (t) => {
  const problems = problemsOf({
    PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://root:hunter2@db/x', GUESTGATE_TENANT_ID: 'not-a-guid',
    AZURE_AUTHORITY_HOST: 'http://login.example', GUESTGATE_APPLY_MIGRATIONS: 'maybe',
  })
  for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'GUESTGATE_TENANT_ID', 'AZURE_AUTHORITY_HOST', 'GUESTGATE_APPLY_MIGRATIONS']) {
    t.equal(problems.filter((p) => p.startsWith(`${name}:`)).length, 1, `${name} named once`)
  }
  t.notMatch(problems.join('\n'), /hunter2/, 'secret values are not shown')
  t.match(problems.join('\n'), /eighty/, 'non-secret values are shown to help')
  t.match(problems.find((p) => p.startsWith('PORT:')), /an integer from 0 to 65535/, 'says what is expected')
  t.match(problems.find((p) => p.startsWith('LOG_LEVEL:')), /one of fatal, error/, 'lists the choices')
})

t.test('mode selection fails closed (issue 9.4)', async (t) => {
  t.test('a misspelt tenant variable is not sandbox mode: the start stops naming it', async (t) => {
    const problems = problemsOf({ GUESTGATE_TENANTID: TENANT, DATABASE_URL: 'postgresql://db/prod', HOST: '0.0.0.0' })
    t.ok(problems.some((p) => p.startsWith('GUESTGATE_TENANTID: is not a guestgate variable: did you mean GUESTGATE_TENANT_ID?')), 'the typo is named with a suggestion')
  })
  t.test('unknown GUESTGATE_* and GRAPH_* variables stop the start; other variables are not ours', async (t) => {
    const problems = problemsOf({ GRAPH_BASEURL: 'https://graph.microsoft.com', GUESTGATE_FOO: '1', PATH: '/usr/bin', AZURE_SUBSCRIPTION_ID: 'x' })
    t.same(problems.map((p) => p.split(':')[0]).sort(), ['GRAPH_BASEURL', 'GUESTGATE_FOO'])
  })
  t.test('nothing tenant-like set and a non-loopback HOST: refused, not a public sandbox', async (t) => {
    const problems = problemsOf({ HOST: '0.0.0.0', DATABASE_URL: 'postgresql://db/prod' })
    t.equal(problems.length, 1)
    t.match(problems[0], /^GUESTGATE_MODE: .*HOST 0\.0\.0\.0 is not a loopback address.*GUESTGATE_MODE=sandbox/)
  })
  t.test('an explicit GUESTGATE_MODE=sandbox may listen anywhere', async (t) => {
    t.equal(loadConfig({ HOST: '0.0.0.0', GUESTGATE_MODE: 'sandbox' }).mode, 'sandbox')
  })
  t.test('loopback hosts without tenant variables are sandbox', async (t) => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.1.2.3']) t.equal(loadConfig({ HOST: host }).mode, 'sandbox', host)
    t.notOk(isLoopback('0.0.0.0'))
    t.notOk(isLoopback('10.0.0.1'))
  })
  t.test('any tenant variable alone means tenant mode, whose missing settings stop the start', async (t) => {
    for (const [name, value] of Object.entries({ AZURE_TENANT_ID: TENANT, GUESTGATE_API_AUDIENCE: 'api://x', AZURE_CLIENT_ID: CLIENT, GUESTGATE_APP_ID: CLIENT })) {
      const problems = problemsOf({ [name]: value })
      t.ok(problems.length > 0 && problems.some((p) => p.includes('required in tenant mode')), `${name} alone is refused, not a sandbox`)
    }
  })
  t.test('GUESTGATE_MODE=sandbox with a GUESTGATE tenant variable is ambiguous: refused', async (t) => {
    const problems = problemsOf({ GUESTGATE_MODE: 'sandbox', GUESTGATE_TENANT_ID: TENANT })
    t.match(problems[0], /^GUESTGATE_TENANT_ID: is set but GUESTGATE_MODE is sandbox/)
  })
  t.test('GUESTGATE_MODE=tenant without a tenant names the tenant id', async (t) => {
    t.ok(problemsOf({ GUESTGATE_MODE: 'tenant' }).some((p) => p.startsWith('GUESTGATE_TENANT_ID: required in tenant mode')))
  })
})

t.test('tenant variables work as the README says', async (t) => {
  t.test('GUESTGATE_TENANT_ID alone names the tenant of the Graph credential (client secret)', async (t) => {
    const config = loadConfig({ ...TENANT_ENV, AZURE_CLIENT_SECRET: 'a-secret-value' })
    t.match(config.graphCredential, { kind: 'clientSecret', tenantId: TENANT, clientId: CLIENT })
  })
  t.test('AZURE_TENANT_ID alone works as well', async (t) => {
    const { GUESTGATE_TENANT_ID: _, ...rest } = TENANT_ENV
    const config = loadConfig({ ...rest, AZURE_TENANT_ID: TENANT, AZURE_CLIENT_SECRET: 'a-secret-value' })
    t.equal(config.tenantId, TENANT)
    t.match(config.graphCredential, { kind: 'clientSecret', tenantId: TENANT })
  })
  t.test('both set and different: refused', async (t) => {
    const problems = problemsOf({ ...TENANT_ENV, AZURE_TENANT_ID: '11111111-2222-4333-8444-555555555555' })
    t.match(problems[0], /^GUESTGATE_TENANT_ID: differs from AZURE_TENANT_ID/)
  })
  t.test('an incomplete credential is a configuration error naming the variables', async (t) => {
    const { AZURE_CLIENT_ID: _, ...rest } = TENANT_ENV
    const problems = problemsOf({ ...rest, GUESTGATE_APP_ID: CLIENT, AZURE_CLIENT_SECRET: 'a-secret-value' })
    t.ok(problems.some((p) => p.startsWith('AZURE_CLIENT_SECRET is set but AZURE_CLIENT_ID is not')), problems.join('\n'))
    t.notMatch(problems.join('\n'), /a-secret-value/)
  })
  t.test('no credential material: managed identity', async (t) => {
    t.same(loadConfig(TENANT_ENV).graphCredential, { kind: 'managedIdentity', clientId: CLIENT })
  })
})

t.test('relative paths resolve against the working directory, not the package', async (t) => {
  const cwd = '/srv/guestgate-instance'
  const config = loadConfig({ ...TENANT_ENV, GUESTGATE_POLICY_FILE: 'policies/prod.yaml', GUESTGATE_DATA_DIR: 'state' }, { cwd })
  t.equal(config.policyFile, path.join(cwd, 'policies/prod.yaml'))
  t.equal(config.dataDir, path.join(cwd, 'state'))
  t.equal(loadConfig({}, { cwd }).dataDir, path.join(cwd, '.data'))
})

t.test('lists: CORS origins and audiences are trimmed, empty items dropped', async (t) => {
  const config = loadConfig({ GUESTGATE_CORS_ORIGINS: ' https://a.example/ ,, https://b.example ' })
  t.same(config.corsOrigins, ['https://a.example', 'https://b.example'])
})

t.test('every variable has a description and says what it expects (the README table is made from them)', async (t) => {
  for (const [name, schema] of Object.entries(ConfigSchema.properties)) {
    t.ok(typeof schema.description === 'string' && schema.description.length > 10, `${name} has a description`)
    t.ok(typeof (schema as { expected?: unknown }).expected === 'string', `${name} says what it expects`)
  }
})

t.test('the reconciler must wait longer than a Graph call may take', async (t) => {
  const error = t.throws(() => loadConfig({ GRAPH_TIMEOUT_MS: '60000', GUESTGATE_RECONCILE_AFTER_SECONDS: '60' })) as ConfigError
  t.match(error.message, /GUESTGATE_RECONCILE_AFTER_SECONDS: must be longer than GRAPH_TIMEOUT_MS/)
  t.equal(loadConfig({ GRAPH_TIMEOUT_MS: '3000', GUESTGATE_RECONCILE_AFTER_SECONDS: '4' }).reconcile.afterSeconds, 4)
})

t.test('the start-up description masks every password a URL can carry: user-info and query parameters', async (t) => {
  const config = loadConfig({
    DATABASE_URL: 'postgresql://app@db.example/guestgate?password=hunter2&sslmode=require&SSLPassword=keypass1&Password=hunter3',
    REDIS_URL: 'rediss://:redispass1@cache.example:6380?password=redispass2',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel:otelpass1@collector.example:4318',
    GRAPH_BASE_URL: 'https://graph.example/v1.0?sslpassword=graphpass1',
  })
  const described = describeConfig(config)
  const text = JSON.stringify(described)
  for (const secret of ['hunter2', 'hunter3', 'keypass1', 'redispass1', 'redispass2', 'otelpass1', 'graphpass1']) t.notMatch(text, secret, `${secret} is not described`)
  t.equal(described.database, 'postgresql://app@db.example/guestgate?password=***&sslmode=require&SSLPassword=***&Password=***', 'the rest of the URL is kept')
  t.equal(described.rateLimitStore, 'rediss://:***@cache.example:6380?password=***')
  t.equal(described.tracing, 'https://otel:***@collector.example:4318/')
  t.equal(describeConfig(loadConfig({})).rateLimitStore, 'memory (per process)')
  t.equal(describeConfig(loadConfig({ DATABASE_URL: 'postgresql://app:s3cret@db:5432/guestgate' })).database, 'postgresql://app:***@db:5432/guestgate')
  t.equal(describeConfig(loadConfig({ DATABASE_URL: 'postgresql://db/guestgate?sslmode=require' })).database, 'postgresql://db/guestgate?sslmode=require', 'a URL without secrets is shown as given')
  t.equal(describeConfig(loadConfig({ DATABASE_URL: 'postgresql://h1:5432,h2:5432/db?password=hunter2' })).database, '(unparseable)', 'a URL that cannot be parsed is not shown')
})

t.test('a bad REDIS_URL is named without echoing its password', async (t) => {
  const problems = problemsOf({ REDIS_URL: 'reddis://:redispass1@cache.example' })
  t.equal(problems.length, 1)
  t.match(problems[0], /^REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/)
  t.notMatch(problems[0], /redispass1/)
})

t.test('GUESTGATE_TRUST_PROXY: the proxies whose X-Forwarded-For is believed, never everyone', async (t) => {
  const accepted: [string | undefined, string[]][] = [
    [undefined, []],
    ['false', []],
    ['FALSE', []],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8,127.0.0.1', ['10.0.0.0/8', '127.0.0.1']],
    [' 10.0.0.0/8 , ::1, fd00::/8 ,', ['10.0.0.0/8', '::1', 'fd00::/8']],
    ['192.168.1.0/24,2001:db8::/32', ['192.168.1.0/24', '2001:db8::/32']],
  ]
  for (const [value, proxies] of accepted) {
    const config = loadConfig(value === undefined ? {} : { GUESTGATE_TRUST_PROXY: value })
    t.same(config.trustedProxies, proxies, `${String(value)}: ${proxies.join(',') || 'none'}`)
  }
  const refused: [string, RegExp][] = [
    ['true', /true is refused: .*any client could choose its address; list the addresses or CIDRs/],
    ['True', /true is refused/],
    ['1', /a hop count is refused: .*list the addresses or CIDRs/],
    ['2', /a hop count is refused/],
    ['0.0.0.0/0', /0\.0\.0\.0\/0 trusts every address, like true/],
    ['10.0.0.0/8,::/0', /::\/0 trusts every address/],
    ['10.0.0.0/33', /must be false, or the proxies' addresses and CIDRs.*not an address or CIDR: 10\.0\.0\.0\/33/],
    ['10.0.0.0/8,lb.example,300.1.1.1', /not an address or CIDR: lb\.example, 300\.1\.1\.1/],
    ['loopback', /not an address or CIDR: loopback/],
    ['yes', /not an address or CIDR: yes/],
    [',', /must be false, or the proxies' addresses/],
  ]
  for (const [value, message] of refused) {
    const problems = problemsOf({ GUESTGATE_TRUST_PROXY: value })
    t.equal(problems.length, 1, `${value}: one problem`)
    t.match(problems[0], /^GUESTGATE_TRUST_PROXY: /, `${value}: names the variable`)
    t.match(problems[0], message, `${value}: says why and what to use`)
    t.notMatch(problems[0], /\n/, `${value}: one line`)
  }
})
