// `npm run doctor [-- --json]`: runs the checks of doctor.ts for the configuration in the
// environment (the same variables as the service), prints a table (or JSON) and exits 1 when a
// check failed. In sandbox mode without GRAPH_BASE_URL it checks against a fresh simulator.
import { ConfigError, loadConfig } from '../config.js'
import { createGraphCredential, graphCredentialSettingsFromEnv, type GraphCredentialSettings } from '../graph/graph-credential.js'
import { createMsGraphGateway } from '../graph/ms-graph-gateway.js'
import { buildGraphSimulator } from '../graph/simulator/graph-simulator.js'
import { loadPolicyFile } from '../policies/policy-file.js'
import { type CheckResult, exitCodeOf, formatTable, runDoctor } from './doctor.js'

const json = process.argv.includes('--json')

function report(results: CheckResult[]): void {
  console.log(json ? JSON.stringify({ results, failed: exitCodeOf(results) !== 0 }, null, 2) : formatTable(results))
  process.exitCode = exitCodeOf(results)
}

let config
try {
  config = loadConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  report(error.problems.map((problem) => ({ check: 'configuration', status: 'fail', detail: problem, fix: 'Set the variable as described (docs/doctor.md).' })))
  process.exit()
}

let settings: GraphCredentialSettings
try {
  settings = config.mode === 'sandbox' ? { kind: 'static', token: 'sandbox-graph-token' } : graphCredentialSettingsFromEnv(config.env)
} catch (error) {
  report([{ check: 'Graph credential', status: 'fail', detail: (error as Error).message, fix: 'Set AZURE_TENANT_ID and AZURE_CLIENT_ID with the credential material.' }])
  process.exit()
}

let graphBaseUrl = config.graphBaseUrl
const simulator = graphBaseUrl ? undefined : await buildGraphSimulator()
if (simulator) graphBaseUrl = `${await simulator.listen({ host: '127.0.0.1', port: 0 })}/v1.0`
try {
  const credential = createGraphCredential(settings)
  const results = await runDoctor({
    config,
    policy: await loadPolicyFile(config.policyFile).catch((error: Error) => error),
    credential,
    ...('clientId' in settings && settings.clientId ? { clientId: settings.clientId } : {}),
    graph: createMsGraphGateway({
      baseUrl: graphBaseUrl as string,
      credential,
      retry: { maxRetries: config.graphMaxRetries, maxDelayMs: config.graphMaxRetryDelayMs, baseDelayMs: config.graphRetryBaseDelayMs },
      timeoutMs: config.graphTimeoutMs,
    }),
    graphBaseUrl: graphBaseUrl as string,
  })
  report(results)
} finally {
  await simulator?.close()
}
