// Every start-up failure is one line that names the variable (or file) at fault and what to do,
// exit code 1, and no stack trace (issue 11.3).
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { createTestDatabase } from './helpers/database.js'
import { startServer } from './helpers/server-process.js'

// Real server processes on a busy machine: a safety net, not a speed requirement.
t.setTimeout(15 * 60_000)

async function failsWith(t: Test, env: Record<string, string>, pattern: RegExp) {
  const server = startServer(t, env)
  const { code } = await server.exited
  const output = server.output()
  t.equal(code, 1, 'exit code 1')
  const lines = output.split('\n').filter((line) => line.startsWith('guestgate: cannot start: '))
  t.ok(lines.some((line) => pattern.test(line)), `one line says ${pattern}`)
  t.notMatch(output, /\n\s+at .+:\d+:\d+/, 'no stack trace')
  t.notMatch(output, /"level":50.*"stack"/, 'no stack in a log line either')
  return lines
}

const dataDir = () => mkdtemp(path.join(tmpdir(), 'guestgate-startup-'))

t.test('an unreachable database names DATABASE_URL', async (t) => {
  const lines = await failsWith(t, { PORT: '0', DATABASE_URL: 'postgresql://postgres:pw@127.0.0.1:1/guestgate' },
    /^guestgate: cannot start: DATABASE_URL: cannot use the database at 127\.0\.0\.1:1\/guestgate \(ECONNREFUSED\): nothing listens there/)
  t.notMatch(lines.join('\n'), /pw@/, 'no password in the line')
})

t.test('a missing policy file names GUESTGATE_POLICY_FILE and the path it looked at (relative to the working directory)', async (t) => {
  const database = await createTestDatabase(t)
  await failsWith(t, { PORT: '0', DATABASE_URL: database.connectionString, GUESTGATE_POLICY_FILE: 'no-such-policy.yaml' },
    /GUESTGATE_POLICY_FILE: .*\/no-such-policy\.yaml: cannot read the file \(ENOENT\)/)
})

t.test('a misspelt variable is named with the right spelling', async (t) => {
  await failsWith(t, { GUESTGATE_TENANTID: '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b' }, /GUESTGATE_TENANTID: is not a guestgate variable: did you mean GUESTGATE_TENANT_ID\?/)
})

t.test('a public HOST without a mode is not a sandbox', async (t) => {
  await failsWith(t, { HOST: '0.0.0.0' }, /GUESTGATE_MODE: not set.*HOST 0\.0\.0\.0 is not a loopback address/)
})

t.test('tenant mode with a client secret but no client id names AZURE_CLIENT_ID', async (t) => {
  await failsWith(t, {
    GUESTGATE_TENANT_ID: '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b', GUESTGATE_APP_ID: '0f0a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b',
    GUESTGATE_API_AUDIENCE: 'api://guestgate', DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/test',
    GUESTGATE_POLICY_FILE: 'config/policy.sandbox.yaml', AZURE_CLIENT_SECRET: 'not-shown-anywhere',
  }, /AZURE_CLIENT_SECRET is set but AZURE_CLIENT_ID is not/)
})

t.test('a port in use names PORT', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => blocker.close(resolve)))
  const port = (blocker.address() as { port: number }).port
  const database = await createTestDatabase(t)
  await failsWith(t, { PORT: String(port), DATABASE_URL: database.connectionString, GRAPH_BASE_URL: 'http://127.0.0.1:9/v1.0' },
    new RegExp(`PORT: 127\\.0\\.0\\.1:${port} is already in use`))
})

t.test('a sandbox data folder held by another server names GUESTGATE_DATA_DIR', async (t) => {
  const dir = await dataDir()
  // A live process (this test) holds the folder's lock.
  await writeFile(path.join(dir, 'guestgate.lock'), String(process.pid))
  await failsWith(t, { PORT: '0', GUESTGATE_DATA_DIR: dir }, new RegExp(`GUESTGATE_DATA_DIR: .* is used by another guestgate \\(process ${process.pid}\\)`))
})
