// What a doctor run needs around it, all local: the Graph simulator, an HTTPS token endpoint
// stand-in, a JWKS authority, a migrated test database, and a policy file (the sandbox one, or a
// variant naming the role-assignable Finance Admins group).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Teardown } from '../helper.js'
import { createTestDatabase } from '../helpers/database.js'
import { startTestIssuer } from '../helpers/test-issuer.js'
import { startTokenEndpoint } from '../helpers/token-endpoint.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import { repoFile } from '../helpers/repo.js'

export const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
export const CLIENT_ID = SEED.apps.guestgate.appId
export const SECRET = 'doctor-test-secret-value'

const SANDBOX_POLICY = repoFile('config/policy.sandbox.yaml')
const MARKETING_LINE = '      - { id: d0000000-0000-4000-8000-000000000002, name: Marketing, add: true, remove: true }'

/** The sandbox policy, plus the role-assignable Finance Admins group when `misconfigured`. */
export async function policyFile(misconfigured: boolean): Promise<string> {
  const text = await readFile(SANDBOX_POLICY, 'utf8')
  if (!text.includes(MARKETING_LINE)) throw new Error('the sandbox policy changed: update the doctor fixture')
  const financeAdmins = `      - { id: ${SEED.groups.financeAdmins}, name: Finance Admins, add: true, remove: true }`
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'guestgate-doctor-')), 'policy.yaml')
  await writeFile(file, misconfigured ? text.replace(MARKETING_LINE, `${MARKETING_LINE}\n${financeAdmins}`) : text)
  return file
}

/** The tenant-mode environment for guestgate (and doctor) against these stand-ins. */
export async function doctorEnvironment(t: Teardown, graphBaseUrl: string, options: { misconfiguredPolicy?: boolean; secret?: string } = {}) {
  const tokens = await startTokenEndpoint(t, { tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET })
  const issuer = await startTestIssuer(t, TENANT, 'api://guestgate-doctor')
  const database = await createTestDatabase(t)
  const env: Record<string, string> = {
    GUESTGATE_MODE: 'tenant',
    GUESTGATE_TENANT_ID: TENANT,
    GUESTGATE_API_AUDIENCE: 'api://guestgate-doctor',
    GUESTGATE_AUTH_AUTHORITY: issuer.authority,
    GUESTGATE_POLICY_FILE: await policyFile(options.misconfiguredPolicy ?? false),
    GUESTGATE_APPLY_MIGRATIONS: 'false',
    DATABASE_URL: database.connectionString,
    GRAPH_BASE_URL: graphBaseUrl,
    GRAPH_RETRY_BASE_DELAY_MS: '5',
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: CLIENT_ID,
    AZURE_CLIENT_SECRET: options.secret ?? SECRET,
    AZURE_AUTHORITY_HOST: tokens.authorityHost,
  }
  return { env, tokens, issuer, database }
}
