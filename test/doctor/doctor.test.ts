// The doctor's checks against the simulator seeded with a well-configured and a mis-configured
// app registration: the rows, their results and the exit code.
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { type CheckResult, exitCodeOf, formatTable, runDoctor } from '../../src/doctor/doctor.js'
import { createGraphCredential, graphCredentialSettingsFromEnv } from '../../src/graph/graph-credential.js'
import { createMsGraphGateway } from '../../src/graph/ms-graph-gateway.js'
import { buildGraphSimulator, type GraphSimulatorOptions } from '../../src/graph/simulator/graph-simulator.js'
import { loadPolicyFile } from '../../src/policies/policy-file.js'
import { createTestDatabase } from '../helpers/database.js'
import { doctorEnvironment } from './doctor-fixture.js'

async function doctor(t: Test, seed: GraphSimulatorOptions['appRegistration'], options: Parameters<typeof doctorEnvironment>[2] & { env?: Record<string, string>; clockUrl?: string } = {}) {
  const simulator = await buildGraphSimulator({ appRegistration: seed })
  const origin = await simulator.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => simulator.close())
  const { env } = await doctorEnvironment(t, `${origin}/v1.0`, options)
  const config = loadConfig({ ...env, ...options.env })
  const credential = await createGraphCredential(graphCredentialSettingsFromEnv(config.env))
  const results = await runDoctor({
    config,
    policy: await loadPolicyFile(config.policyFile).catch((error: Error) => error),
    credential,
    clientId: env.AZURE_CLIENT_ID,
    graph: createMsGraphGateway({ baseUrl: `${origin}/v1.0`, credential, retry: { baseDelayMs: 5 } }),
    graphBaseUrl: options.clockUrl ?? `${origin}/v1.0`,
  })
  return { results, table: formatTable(results), byCheck: (check: string) => results.find((r) => r.check === check) }
}

const statuses = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r.status]))

t.test('well-configured: every check passes, exit code 0', async (t) => {
  const { results, table } = await doctor(t, 'well-configured')
  t.same(statuses(results), {
    'Graph credential': 'pass',
    'Graph permissions: required': 'pass',
    'Graph permissions: excess': 'pass',
    'Graph permissions: optional': 'pass',
    'policy file': 'pass',
    'policy group Developers': 'pass',
    'policy group Marketing': 'pass',
    'policy app DocuSign': 'pass',
    'policy app Jira': 'pass',
    'token authority keys': 'pass',
    'database reachable': 'pass',
    'database migrated': 'pass',
    'audit chain': 'pass',
    clock: 'pass',
  })
  t.equal(exitCodeOf(results), 0)
  t.match(table, /^CHECK +RESULT +DETAIL\n/)
  t.match(table, /\n14 passed, 0 warning\(s\), 0 failed, 0 skipped$/)
  t.notMatch(table, /fix:/, 'nothing to fix')
  t.notMatch(table, /doctor-test-secret-value/, 'the secret is never printed')
})

t.test('mis-configured: a missing permission, a dangerous extra one, a role-assignable group; exit code 1', async (t) => {
  const { results, table, byCheck } = await doctor(t, 'mis-configured', { misconfiguredPolicy: true })
  t.match(byCheck('Graph permissions: required'), { status: 'fail', detail: /missing GroupMember\.ReadWrite\.All/, fix: /admin consent.*GroupMember\.ReadWrite\.All/ })
  t.match(byCheck('Graph permissions: excess'), { status: 'warn', detail: /Directory\.ReadWrite\.All/, fix: /Remove Directory\.ReadWrite\.All/ })
  t.match(byCheck('policy group Finance Admins'), { status: 'fail', detail: /role-assignable/, fix: /Remove it from the policy file/ })
  t.equal(byCheck('policy group Developers')?.status, 'pass')
  t.equal(exitCodeOf(results), 1)
  t.match(table, /Graph permissions: required +FAIL +missing GroupMember\.ReadWrite\.All/)
  t.match(table, /Graph permissions: excess +WARN +also holds Directory\.ReadWrite\.All/)
  t.match(table, /policy group Finance Admins +FAIL +Finance Admins \(d0000000-0000-4000-8000-000000000003\) is role-assignable/)
  t.match(table, /\n +fix: Grant admin consent/)
  t.match(table, /2 failed/)
})

t.test('a wrong client secret: the credential fails with Entra\'s reason, Graph checks are skipped', async (t) => {
  const { results, byCheck } = await doctor(t, 'well-configured', { secret: 'not-the-secret' })
  t.match(byCheck('Graph credential'), { status: 'fail', detail: /AADSTS7000215/, fix: /AZURE_CLIENT_ID/ })
  t.equal(byCheck('Graph permissions')?.status, 'skip')
  t.notMatch(JSON.stringify(results), /not-the-secret/)
  t.equal(exitCodeOf(results), 1)
})

t.test('an unreachable authority, an unmigrated database and a skewed clock fail with their fixes', async (t) => {
  const unmigrated = await createTestDatabase(t, { migrate: false })
  const skewed = createServer((_req, res) => res.writeHead(401, { date: new Date(Date.now() - 10 * 60_000).toUTCString() }).end())
  skewed.listen(0, '127.0.0.1')
  await once(skewed, 'listening')
  t.teardown(() => new Promise((resolve) => skewed.close(resolve)))
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const closedPort = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))

  const { results, byCheck } = await doctor(t, 'well-configured', {
    env: { DATABASE_URL: unmigrated.connectionString, GUESTGATE_AUTH_AUTHORITY: `http://127.0.0.1:${closedPort}` },
    clockUrl: `http://127.0.0.1:${(skewed.address() as AddressInfo).port}/v1.0`,
  })
  t.match(byCheck('token authority keys'), { status: 'fail', fix: /GUESTGATE_AUTH_AUTHORITY/ })
  t.match(byCheck('database reachable'), { status: 'pass' })
  t.match(byCheck('database migrated'), { status: 'fail', detail: /[1-9]\d* migration\(s\) not applied/, fix: /prisma migrate deploy/ })
  t.equal(byCheck('audit chain')?.status, 'skip')
  t.match(byCheck('clock'), { status: 'fail', detail: /^(59\d|600)\.\d s from Graph's clock, more than GUESTGATE_CLOCK_SKEW_SECONDS \(60\)/, fix: /NTP/ })
  t.equal(exitCodeOf(results), 1)
})
