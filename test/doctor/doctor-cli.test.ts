// `npm run doctor` as an operator runs it: its own process, configured by the environment,
// against the Graph simulator running as its own process. The table and the exit code.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import type { Teardown } from '../helper.js'
import { startSimulatorProcess } from '../helpers/simulator-process.js'
import { LOOPBACK_CA_FILE } from '../helpers/token-endpoint.js'
import { doctorEnvironment } from './doctor-fixture.js'

async function runDoctorProcess(t: Teardown, env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', 'src/doctor/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', TS_NODE_TRANSPILE_ONLY: '1', NODE_EXTRA_CA_CERTS: LOOPBACK_CA_FILE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

t.test('doctor against a well-configured app registration: all pass, exit 0', async (t) => {
  const simulator = await startSimulatorProcess(t, { GRAPH_SIMULATOR_APP_REGISTRATION: 'well-configured' })
  const { env } = await doctorEnvironment(t, simulator.baseUrl)
  const { code, stdout, stderr } = await runDoctorProcess(t, env)
  t.equal(code, 0, stderr)
  t.match(stdout, /^CHECK +RESULT +DETAIL$/m)
  t.match(stdout, /^Graph permissions: required +pass +guestgate holds User\.Invite\.All/m)
  t.match(stdout, /^14 passed, 0 warning\(s\), 0 failed, 0 skipped$/m)
  t.notMatch(stdout + stderr, /doctor-test-secret-value/)
  t.equal(await simulator.stop(), 0)
})

t.test('doctor against a mis-configured one: FAIL and WARN rows with fixes, exit 1; --json says the same', async (t) => {
  const simulator = await startSimulatorProcess(t, { GRAPH_SIMULATOR_APP_REGISTRATION: 'mis-configured' })
  const { env } = await doctorEnvironment(t, simulator.baseUrl, { misconfiguredPolicy: true })
  const { code, stdout } = await runDoctorProcess(t, env)
  t.equal(code, 1)
  t.match(stdout, /^Graph permissions: required +FAIL +missing GroupMember\.ReadWrite\.All/m)
  t.match(stdout, /^Graph permissions: excess +WARN +also holds Directory\.ReadWrite\.All/m)
  t.match(stdout, /^policy group Finance Admins +FAIL +.*role-assignable/m)
  t.match(stdout, /^ +fix: Remove it from the policy file/m)
  t.match(stdout, /^\d+ passed, 1 warning\(s\), 2 failed, 0 skipped$/m)

  const asJson = await runDoctorProcess(t, env, ['--json'])
  t.equal(asJson.code, 1)
  const parsed = JSON.parse(asJson.stdout)
  t.equal(parsed.failed, true)
  t.same(parsed.results.filter((r: { status: string }) => r.status !== 'pass').map((r: { check: string; status: string }) => `${r.check}:${r.status}`), [
    'Graph permissions: required:fail', 'Graph permissions: excess:warn', 'policy group Finance Admins:fail',
  ])
})

t.test('a configuration error is a failed row and exit 1, not a stack trace', async (t) => {
  const { code, stdout } = await runDoctorProcess(t, { GUESTGATE_MODE: 'tenant', GUESTGATE_TENANT_ID: 'not-a-guid' })
  t.equal(code, 1)
  t.match(stdout, /^configuration +FAIL +GUESTGATE_TENANT_ID: must be a GUID/m)
})
