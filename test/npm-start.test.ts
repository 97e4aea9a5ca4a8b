// `npm start` builds only when a source changed (issue 11.1): on a copy of the repository
// (sharing node_modules), the first start builds, the second one starts at once.
import { cp, mkdtemp, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { createTestDatabase } from './helpers/database.js'
import { REPO, startServer } from './helpers/server-process.js'

// Real builds and server processes on a busy machine: a safety net, not a speed requirement.
t.setTimeout(15 * 60_000)

const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'prisma.config.ts', 'prisma', 'src', 'config', 'scripts']

t.test('npm start twice in a row builds once', async (t) => {
  const copy = await mkdtemp(path.join(tmpdir(), 'guestgate-npm-start-'))
  for (const entry of SOURCES) {
    await cp(path.join(REPO, entry), path.join(copy, entry), { recursive: true, filter: (source) => !source.includes(`${path.sep}generated`) })
  }
  await symlink(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'))
  const database = await createTestDatabase(t)
  const env = { PORT: '0', DATABASE_URL: database.connectionString, GUESTGATE_DATA_DIR: path.join(copy, '.data') }

  const outputs: string[] = []
  for (let run = 0; run < 2; run++) {
    const server = startServer(t, env, { cwd: copy, command: { file: 'npm', args: ['start', '--silent'] } })
    await server.waitFor(/Docs: http:\/\/[^\s]+\/docs/)
    // npm does not wait for its child on SIGTERM: stop the server itself (its pid is in its log lines).
    const pid = Number((await server.waitFor(/"pid":(\d+)/))[1])
    process.kill(pid, 'SIGTERM')
    t.equal((await server.exited).code, 0, 'npm start ended with the server')
    outputs.push(server.output())
  }
  t.match(outputs[0], /guestgate build: building/, 'the first start builds')
  t.notMatch(outputs[1], /guestgate build: building/, 'the second does not')
  t.match(outputs[1], /guestgate build: up to date/)
})
