// `npm run doctor` against the Graph simulator running as its own process: the command (the
// environment in, the report and exit code out) for both app registration seeds, and once as
// its own process too, as an operator runs it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { runDoctorCommand } from '../../src/doctor/command.js'
import type { CheckResult } from '../../src/doctor/doctor.js'
import { startSimulatorProcess } from '../helpers/simulator-process.js'
import { entryPoint } from '../helpers/processes.js'
import { LOOPBACK_CA_FILE } from '../helpers/token-endpoint.js'
import { doctorEnvironment } from './doctor-fixture.js'

t.test('doctor against the simulator process, well-configured then mis-configured', async (t) => {
  const simulator = await startSimulatorProcess(t, { GRAPH_SIMULATOR_APP_REGISTRATION: 'well-configured' })

  const well = await doctorEnvironment(t, simulator.baseUrl)
  const passing = await runDoctorCommand(well.env)
  t.equal(passing.exitCode, 0, passing.output)
  t.match(passing.output, /^CHECK +RESULT +DETAIL$/m)
  t.match(passing.output, /^Graph permissions: required +pass +guestgate holds User\.Invite\.All/m)
  t.match(passing.output, /^14 passed, 0 warning\(s\), 0 failed, 0 skipped$/m)
  t.notMatch(passing.output, /doctor-test-secret-value/)

  // The same process plays the mis-configured app registration now.
  const reset = await fetch(`${simulator.origin}/_simulator/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appRegistration: 'mis-configured' }) })
  t.equal(reset.status, 204)
  const mis = await doctorEnvironment(t, simulator.baseUrl, { misconfiguredPolicy: true })
  const asJson = await runDoctorCommand(mis.env, ['--json'])
  t.equal(asJson.exitCode, 1)
  const parsed = JSON.parse(asJson.output) as { results: CheckResult[]; failed: boolean }
  t.equal(parsed.failed, true)
  t.same(parsed.results.filter((r) => r.status !== 'pass').map((r) => `${r.check}:${r.status}`), [
    'Graph permissions: required:fail', 'Graph permissions: excess:warn', 'policy group Finance Admins:fail',
  ])

  // As its own process: the table and the exit code an operator sees.
  const child = spawn(process.execPath, entryPoint('src/doctor/cli.ts'), {
    env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: LOOPBACK_CA_FILE, ...mis.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 1, stderr)
  t.match(stdout, /^Graph permissions: required +FAIL +missing GroupMember\.ReadWrite\.All/m)
  t.match(stdout, /^Graph permissions: excess +WARN +also holds Directory\.ReadWrite\.All/m)
  t.match(stdout, /^policy group Finance Admins +FAIL +.*role-assignable/m)
  t.match(stdout, /^ +fix: Remove it from the policy file/m)
  t.match(stdout, /^\d+ passed, 1 warning\(s\), 2 failed, 0 skipped$/m)
  t.notMatch(stdout + stderr, /doctor-test-secret-value/)
  t.equal(await simulator.stop(), 0)
})

t.test('a configuration error is a failed row and exit 1, not a stack trace', async (t) => {
  const { output, exitCode } = await runDoctorCommand({ GUESTGATE_MODE: 'tenant', GUESTGATE_TENANT_ID: 'not-a-guid' })
  t.equal(exitCode, 1)
  t.match(output, /^configuration +FAIL +GUESTGATE_TENANT_ID: must be a GUID/m)
  const credential = await runDoctorCommand({
    GUESTGATE_MODE: 'tenant', GUESTGATE_TENANT_ID: '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b', GUESTGATE_API_AUDIENCE: 'api://x', GUESTGATE_APP_ID: '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b',
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/none', GUESTGATE_POLICY_FILE: 'config/policy.sandbox.yaml', AZURE_CLIENT_SECRET: 'x',
  })
  t.equal(credential.exitCode, 1)
  // GUESTGATE_TENANT_ID reaches the credential, so only the client id is missing (checked with the configuration).
  t.match(credential.output, /^configuration +FAIL +AZURE_CLIENT_SECRET is set but AZURE_CLIENT_ID is not/m)
})
