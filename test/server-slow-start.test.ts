// The first start on a busy machine (issue 11.1): creating the embedded database may take far
// longer than Fastify's 10 s plugin timeout; it has its own timeout and says what it is doing.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { REPO, startServer } from './helpers/server-process.js'

// Real server processes on a busy machine: a safety net, not a speed requirement.
t.setTimeout(15 * 60_000)

t.test('an embedded database that takes 15 s to start: the server starts and serves', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'guestgate-slow-'))
  const server = startServer(t, { PORT: '0', GUESTGATE_DATA_DIR: dataDir, EMBEDDED_DELAY_MS: '15000' },
    { nodeArgs: ['--import', path.join(REPO, 'test/fixtures/slow-embedded-postgres/register.mjs')] })
  const base = (await server.waitFor(/Docs: (http:\/\/[^\s]+)\/docs/))[1]!
  t.match(server.output(), /creating a new embedded database \(the first start takes a while\)/, 'a progress line')
  t.notMatch(server.output(), /did not start in time/)
  const ready = await fetch(`${base}/readyz`)
  t.equal(ready.status, 200, 'ready')
  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null })
})

t.test('an embedded database slower than GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS: one line naming it', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'guestgate-slow-'))
  const server = startServer(t, { PORT: '0', GUESTGATE_DATA_DIR: dataDir, EMBEDDED_DELAY_MS: '600000', GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS: '1' },
    { nodeArgs: ['--import', path.join(REPO, 'test/fixtures/slow-embedded-postgres/register.mjs')] })
  const { code } = await server.exited
  const output = server.output()
  t.equal(code, 1)
  t.match(output, /guestgate: cannot start: GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS: embedded Postgres did not create its database in .* within 1 s: .*raise GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS/)
  t.notMatch(output, /\n\s+at .+:\d+:\d+/, 'no stack trace')
})
