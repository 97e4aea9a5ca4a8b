// The doctor as a command: the environment and arguments in, the printed report and the exit
// code out. cli.ts runs it for `npm run doctor`; tests call it directly.
import { ConfigError, loadConfig } from '../config.js'
import { createGraphCredential, graphCredentialSettingsFromEnv, type GraphCredentialSettings } from '../graph/graph-credential.js'
import { createMsGraphGateway } from '../graph/ms-graph-gateway.js'
import { buildGraphSimulator } from '../graph/simulator/graph-simulator.js'
import { loadPolicyFile } from '../policies/policy-file.js'
import { type CheckResult, exitCodeOf, formatTable, runDoctor } from './doctor.js'

export interface DoctorCommandResult {
  output: string
  exitCode: number
}

function report(results: CheckResult[], json: boolean): DoctorCommandResult {
  const exitCode = exitCodeOf(results)
  return { output: json ? JSON.stringify({ results, failed: exitCode !== 0 }, null, 2) : formatTable(results), exitCode }
}

/** `--json` prints JSON instead of the table. In sandbox mode without GRAPH_BASE_URL it checks against a fresh simulator. */
export async function runDoctorCommand(env: Record<string, string | undefined>, args: readonly string[] = []): Promise<DoctorCommandResult> {
  const json = args.includes('--json')
  let config
  try {
    config = loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return report(error.problems.map((problem) => ({ check: 'configuration', status: 'fail', detail: problem, fix: 'Set the variable as described (docs/doctor.md).' })), json)
  }

  let settings: GraphCredentialSettings
  try {
    settings = config.mode === 'sandbox' ? { kind: 'static', token: 'sandbox-graph-token' } : graphCredentialSettingsFromEnv(config.env)
  } catch (error) {
    return report([{ check: 'Graph credential', status: 'fail', detail: (error as Error).message, fix: 'Set AZURE_TENANT_ID and AZURE_CLIENT_ID with the credential material.' }], json)
  }

  const simulator = config.graphBaseUrl ? undefined : await buildGraphSimulator()
  const graphBaseUrl = config.graphBaseUrl ?? `${await simulator?.listen({ host: '127.0.0.1', port: 0 })}/v1.0`
  try {
    const credential = await createGraphCredential(settings)
    return report(await runDoctor({
      config,
      policy: await loadPolicyFile(config.policyFile).catch((error: Error) => error),
      credential,
      ...('clientId' in settings && settings.clientId ? { clientId: settings.clientId } : {}),
      graph: createMsGraphGateway({
        baseUrl: graphBaseUrl,
        credential,
        retry: { maxRetries: config.graphMaxRetries, maxDelayMs: config.graphMaxRetryDelayMs, baseDelayMs: config.graphRetryBaseDelayMs },
        timeoutMs: config.graphTimeoutMs,
      }),
      graphBaseUrl,
    }), json)
  } finally {
    await simulator?.close()
  }
}
