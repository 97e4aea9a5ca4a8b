// CI's conformance run: `npm run conformance` as its own process, with a real client-secret
// credential (from the local token endpoint stand-in), against the Graph simulator as its own
// process. Every step passes, the guest is gone afterwards, the report hides secrets.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import type { ConformanceReport } from '../../src/conformance/scenario.js'
import type { RecordedCall } from '../../src/graph/simulator/graph-simulator.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import type { DirectorySnapshot } from '../../src/graph/simulator/state.js'
import { startSimulatorProcess } from '../helpers/simulator-process.js'
import { entryPoint } from '../helpers/processes.js'
import { LOOPBACK_CA_FILE, startTokenEndpoint } from '../helpers/token-endpoint.js'

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const SECRET = 'conformance-test-secret-value'

t.test('npm run conformance against the simulator process: conformant, cleaned up, redacted', async (t) => {
  const simulator = await startSimulatorProcess(t)
  const tokens = await startTokenEndpoint(t, { tenantId: TENANT, clientId: SEED.apps.guestgate.appId, clientSecret: SECRET })
  const reportFile = path.join(await mkdtemp(path.join(tmpdir(), 'guestgate-conformance-')), 'report.json')
  const child = spawn(process.execPath, entryPoint('src/conformance/cli.ts'), {
    env: {
      PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: LOOPBACK_CA_FILE,
      GRAPH_BASE_URL: simulator.baseUrl,
      AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: SEED.apps.guestgate.appId, AZURE_CLIENT_SECRET: SECRET, AZURE_AUTHORITY_HOST: tokens.authorityHost,
      CONFORMANCE_TEST_DOMAIN: 'partner.example',
      CONFORMANCE_GROUP_ID: SEED.groups.developers,
      CONFORMANCE_APP_ID: SEED.apps.docuSign.id,
      CONFORMANCE_APP_ROLE: 'DocuSign.Sender',
      CONFORMANCE_SEND_EMAIL: 'true',
      CONFORMANCE_REPORT_FILE: reportFile,
      CONFORMANCE_REPLICATION_BASE_DELAY_MS: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 0, output)
  t.match(output, /^CONFORMANT: 10 passed, 0 failed, 0 skipped against http:\/\/127\.0\.0\.1:\d+\/v1\.0$/m)

  const reportText = await readFile(reportFile, 'utf8')
  const report = JSON.parse(reportText) as ConformanceReport
  t.equal(report.passed, true)
  t.same(report.steps.map((s) => s.status), Array(10).fill('pass'))
  t.ok(tokens.grants.length > 0 && tokens.grants.every((g) => g.secretMatched), 'the real credential was used')

  const exchanges = report.steps.flatMap((s) => s.exchanges)
  const calls = (await (await fetch(`${simulator.origin}/_simulator/calls`)).json()) as RecordedCall[]
  t.equal(exchanges.length, calls.length, 'every request Graph saw is in the report')
  t.notMatch(reportText, /authorization/i, 'no Authorization header')
  t.notMatch(reportText, new RegExp(SECRET), 'no secret')
  t.notMatch(reportText, /eyJ[\w-]+\./, 'no token')
  t.notMatch(reportText, /ticket=/, 'no redemption link')
  t.match(reportText, /"inviteRedeemUrl": "<redacted inviteRedeemUrl>"/)

  const state = (await (await fetch(`${simulator.origin}/_simulator/state`)).json()) as DirectorySnapshot
  t.notOk(state.users.some((u) => u.mail === report.guestEmail), 'the guest it created is gone')
  t.ok(state.sentEmails.some((e) => e.to === report.guestEmail), 'with CONFORMANCE_SEND_EMAIL the invitations were mailed')
  t.equal(await simulator.stop(), 0)
})
