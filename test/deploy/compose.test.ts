// What can be checked of the deployment without a container engine (issue 11.5): the compose
// file parses; with .env.example's values its guestgate service has a valid configuration; every
// variable it sets is one of ours; every file it mounts exists; the image runs unprivileged.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../../src/config.js'
import { loadPolicyFile } from '../../src/policies/policy-file.js'
import { REPO } from '../helpers/server-process.js'

interface Service { image?: string; build?: string; command?: string[]; env_file?: string; environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, { condition: string }> }

const envExample = Object.fromEntries((await readFile(path.join(REPO, '.env.example'), 'utf8')).split('\n')
  .filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
const composeText = await readFile(path.join(REPO, 'docker-compose.yml'), 'utf8')

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?message}, from the .env values. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g, (_all, name: string, kind?: string, rest?: string) => {
    const given = env[name]
    if (given !== undefined && given !== '') return given
    if (kind === '-') return rest ?? ''
    throw new Error(`${name} is required: ${rest}`)
  })
}
const compose = parse(interpolate(composeText, envExample)) as { services: Record<string, Service> }
const known = new Set(Object.keys(ConfigSchema.properties))

t.test('three services: Postgres, a one-shot migration as the owner, the service as guestgate_app', async (t) => {
  const { postgres, migrate, guestgate } = compose.services
  t.ok(postgres && migrate && guestgate)
  t.match(migrate!.environment!.DATABASE_URL, /^postgresql:\/\/guestgate_owner:/, 'migrations as the owner')
  t.match(guestgate!.environment!.DATABASE_URL, /^postgresql:\/\/guestgate_app:/, 'the service as guestgate_app')
  t.equal(guestgate!.environment!.GUESTGATE_APPLY_MIGRATIONS, 'false', 'the service does not migrate')
  t.same(guestgate!.depends_on?.migrate, { condition: 'service_completed_successfully' })
  t.equal(guestgate!.env_file, '.env')
  const init = await readFile(path.join(REPO, 'deploy/postgres-init/10-guestgate-app-role.sh'), 'utf8')
  t.match(init, /CREATE ROLE guestgate_app LOGIN/, 'Postgres creates the login role')
  const migration = await readFile(path.join(REPO, 'prisma/migrations/20261127152354_audit_events/migration.sql'), 'utf8')
  t.match(migration, /GRANT SELECT, INSERT ON "audit_events" TO "guestgate_app"/, 'which the migrations grant only what it needs')
})

t.test('every variable the service gets is a guestgate variable; the others feed compose itself', async (t) => {
  const guestgate = compose.services.guestgate!
  for (const name of Object.keys(guestgate.environment ?? {})) t.ok(known.has(name), `${name} is in the config schema`)
  for (const name of Object.keys(envExample)) {
    t.ok(known.has(name) || composeText.includes(`\${${name}`), `.env.example's ${name} is a guestgate variable or used by docker-compose.yml`)
  }
})

t.test('with .env.example filled in, the service\'s configuration is valid tenant mode', async (t) => {
  const guestgate = compose.services.guestgate!
  const env = { ...envExample, ...guestgate.environment }
  // The policy path inside the container, mapped back to the mounted folder.
  const config = loadConfig(env)
  t.equal(config.mode, 'tenant')
  t.equal(config.host, '0.0.0.0')
  t.equal(config.graphCredential?.kind, 'clientSecret')
})

t.test('every mounted file exists; the policy is mounted read-only and is a valid policy', async (t) => {
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of service.volumes ?? []) {
      const [source] = volume.split(':')
      if (!source!.startsWith('.')) continue   // a named volume
      t.ok(existsSync(path.join(REPO, source!)), `${name}: ${source} exists`)
    }
  }
  const guestgate = compose.services.guestgate!
  const mount = guestgate.volumes!.map((v) => v.split(':')).find(([, target]) => guestgate.environment!.GUESTGATE_POLICY_FILE!.startsWith(`${target}/`))!
  t.equal(mount[2], 'ro', 'read-only')
  const hostFile = path.join(REPO, mount[0]!, guestgate.environment!.GUESTGATE_POLICY_FILE!.slice(mount[1]!.length + 1))
  const policy = await loadPolicyFile(hostFile)
  t.ok(policy.version, `${path.relative(REPO, hostFile)} is a valid policy`)
})

t.test('the image: slim Node 22, not root, with a health check', async (t) => {
  const dockerfile = await readFile(path.join(REPO, 'Dockerfile'), 'utf8')
  const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!)
  t.match(stages.at(-1), /^node:22-[a-z]+-slim$/, 'the runtime stage is a slim Node 22')
  const user = [...dockerfile.matchAll(/^USER (\S+)/gm)].at(-1)?.[1]
  t.ok(user && user !== 'root' && user !== '0', `runs as ${user}`)
  t.match(dockerfile, /^HEALTHCHECK [\s\S]*?\/readyz/m)
  t.match(dockerfile, /chown node:node \/var\/lib\/guestgate/, 'its data folder is writable by that user')
  t.match(dockerfile, /GUESTGATE_DATA_DIR=\/var\/lib\/guestgate/)
  const ignored = await readFile(path.join(REPO, '.dockerignore'), 'utf8')
  t.match(ignored, /^\.env$/m, 'the .env file never goes into the image')
})
