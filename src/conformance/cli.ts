// `npm run conformance`: the conformance scenario (scenario.ts) against the Graph endpoint and
// credential in the environment. Prints a table, writes the full report with every redacted
// exchange to CONFORMANCE_REPORT_FILE, exits 1 unless every step passed. docs/conformance.md.
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { writeFile } from 'node:fs/promises'
import { createGraphCredential, createStaticCredential, graphCredentialSettingsFromEnv } from '../graph/graph-credential.js'
import type { GraphExchange } from '../graph/graph-exchange.js'
import { createMsGraphGateway } from '../graph/ms-graph-gateway.js'
import { formatSteps, runConformance } from './scenario.js'

const Guid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'a GUID' })
const ConformanceEnv = Type.Object({
  GRAPH_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://graph.microsoft.com/v1.0', description: 'an http(s):// URL' }),
  /** For simulators only: a bearer token sent as is instead of the AZURE_* credential. */
  GRAPH_ACCESS_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  CONFORMANCE_TEST_DOMAIN: Type.String({ pattern: '^[A-Za-z0-9.-]+\\.[A-Za-z]{2,63}$', description: 'a domain name the tenant may invite' }),
  CONFORMANCE_GROUP_ID: Guid,
  CONFORMANCE_APP_ID: Guid,
  CONFORMANCE_APP_ROLE: Type.String({ minLength: 1, description: 'the value of an app role users can hold' }),
  CONFORMANCE_REDIRECT_URL: Type.String({ pattern: '^https://', default: 'https://myapps.microsoft.com', description: 'an https:// URL' }),
  CONFORMANCE_SEND_EMAIL: Type.Boolean({ default: false, description: 'true or false' }),
  CONFORMANCE_REPORT_FILE: Type.String({ minLength: 1, default: 'conformance-report.json' }),
  CONFORMANCE_REPLICATION_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 6 }),
  CONFORMANCE_REPLICATION_BASE_DELAY_MS: Type.Integer({ minimum: 0, maximum: 30_000, default: 1_000 }),
  GRAPH_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 30_000 }),
})

const known = Object.keys(ConformanceEnv.properties)
const raw = Object.fromEntries(Object.entries(process.env).filter(([key, value]) => known.includes(key) && value !== undefined && value !== ''))
const converted = Value.Convert(ConformanceEnv, Value.Default(ConformanceEnv, raw))
const problems = [...Value.Errors(ConformanceEnv, converted)].map((e) =>
  `${e.path.slice(1)}: ${e.schema.description ? `must be ${e.schema.description}` : e.message}${e.path.slice(1) === 'GRAPH_ACCESS_TOKEN' ? '' : ` (got ${JSON.stringify(e.value)})`}`)
if (problems.length > 0) {
  console.error(`Invalid conformance settings (docs/conformance.md):\n  - ${problems.join('\n  - ')}`)
  process.exit(2)
}
const env = Value.Decode(ConformanceEnv, converted)

let credential
try {
  credential = env.GRAPH_ACCESS_TOKEN ? createStaticCredential(env.GRAPH_ACCESS_TOKEN) : await createGraphCredential(graphCredentialSettingsFromEnv(process.env))
} catch (error) {
  console.error(`Invalid credential settings: ${(error as Error).message}`)
  process.exit(2)
}

const exchanges: GraphExchange[] = []
const gateway = createMsGraphGateway({
  baseUrl: env.GRAPH_BASE_URL,
  credential,
  retry: { maxRetries: 3, baseDelayMs: 500 },
  timeoutMs: env.GRAPH_TIMEOUT_MS,
  onExchange: (exchange) => exchanges.push(exchange),
})
const report = await runConformance(gateway, {
  testDomain: env.CONFORMANCE_TEST_DOMAIN,
  groupId: env.CONFORMANCE_GROUP_ID,
  appId: env.CONFORMANCE_APP_ID,
  appRole: env.CONFORMANCE_APP_ROLE,
  redirectUrl: env.CONFORMANCE_REDIRECT_URL,
  sendEmail: env.CONFORMANCE_SEND_EMAIL,
  replication: { retries: env.CONFORMANCE_REPLICATION_RETRIES, baseDelayMs: env.CONFORMANCE_REPLICATION_BASE_DELAY_MS },
}, { take: () => exchanges.splice(0) }, env.GRAPH_BASE_URL)

await writeFile(env.CONFORMANCE_REPORT_FILE, `${JSON.stringify(report, null, 2)}\n`)
console.log(formatSteps(report))
console.log(`Report with every exchange (redacted): ${env.CONFORMANCE_REPORT_FILE}`)
process.exitCode = report.passed ? 0 : 1
