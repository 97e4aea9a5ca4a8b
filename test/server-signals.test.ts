// Signals on the real server, started as `npm start` starts it (issue 8.6): SIGHUP reloads the
// policy and nothing else; SIGTERM stops accepting, lets in-flight requests finish, closes idle
// keep-alive connections at once and exits 0.
import { once } from 'node:events'
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import http from 'node:http'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { buildGraphSimulator } from '../src/graph/simulator/graph-simulator.js'
import { createTestDatabase } from './helpers/database.js'
import { startServer } from './helpers/server-process.js'

// Real server processes on a busy machine: a safety net, not a speed requirement.
t.setTimeout(15 * 60_000)

async function mintToken(base: string, roles: string[]): Promise<string> {
  const response = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles }) })
  return ((await response.json()) as { accessToken: string }).accessToken
}

t.test('SIGHUP reloads the policy and the server keeps serving; a bad file keeps the old policy', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-sighup-'))
  const policyFile = path.join(dir, 'policy.yaml')
  await copyFile('config/policy.sandbox.yaml', policyFile)
  const original = await readFile(policyFile, 'utf8')
  const database = await createTestDatabase(t)
  const server = startServer(t, { PORT: '0', DATABASE_URL: database.connectionString, GUESTGATE_POLICY_FILE: policyFile, GUESTGATE_DATA_DIR: dir })
  const base = await server.listening()
  const token = await mintToken(base, ['Guests.Invite'])
  const permissions = async () => {
    const response = await fetch(`${base}/v1/me/permissions`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(response.status, 200, 'still serving')
    return (await response.json()) as { policyVersion: string; invitations: { maxPerHour: number } }
  }
  t.match(await permissions(), { invitations: { maxPerHour: 20 } })

  await writeFile(policyFile, original.replace(/^version: .*$/m, 'version: "sighup-2"').replace(/maxPerHour: 20/g, 'maxPerHour: 7'))
  server.child.kill('SIGHUP')
  await server.waitFor(/"policyVersion":"sighup-2".*"msg":"policy reloaded"/)
  t.match(await permissions(), { policyVersion: 'sighup-2', invitations: { maxPerHour: 7 } }, 'the new policy is in force')

  await writeFile(policyFile, 'version: "sighup-3"\nroles: [this is not a policy')
  server.child.kill('SIGHUP')
  await server.waitFor(/policy reload failed; keeping policy version sighup-2/)
  t.match(await permissions(), { policyVersion: 'sighup-2', invitations: { maxPerHour: 7 } }, 'a bad file: still the old policy')
  t.equal(server.child.exitCode, null, 'SIGHUP never stopped the server')

  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null })
})

t.test('SIGTERM with 50 in-flight keep-alive requests: all answered, idle connections closed, exit 0', async (t) => {
  const IN_FLIGHT = 50
  // The Graph call of each request is held here until the test lets it go: the requests are
  // in flight for a reason the test controls, not a sleep in the app.
  const simulator = await buildGraphSimulator({ logger: false })
  let arrived = 0
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const allArrived = new Promise<void>((resolve) => {
    simulator.addHook('onRequest', async (request) => {
      if (request.method !== 'GET' || !request.url.startsWith('/v1.0/groups')) return
      if (++arrived === IN_FLIGHT) resolve()
      await released
    })
  })
  await simulator.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => simulator.close())
  const graphPort = (simulator.server.address() as { port: number }).port

  const database = await createTestDatabase(t)
  const server = startServer(t, {
    PORT: '0', DATABASE_URL: database.connectionString, GRAPH_BASE_URL: `http://127.0.0.1:${graphPort}/v1.0`,
    // Far longer than the drain needs, and shorter than Node's keep-alive timeout (72 s): a
    // server that waited for idle keep-alive connections would run out of grace and exit 1.
    GUESTGATE_SHUTDOWN_GRACE_SECONDS: '60',
  })
  const base = await server.listening()
  const { port } = new URL(base)
  const token = await mintToken(base, ['Groups.ManageMembers'])

  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
  t.teardown(() => agent.destroy())
  const sockets: Socket[] = []
  agent.on('free', (socket: Socket) => { if (!sockets.includes(socket)) sockets.push(socket) })
  const answers = Array.from({ length: IN_FLIGHT }, () => new Promise<{ status: number; body: string; at: number }>((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/v1/groups', agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
      let body = ''
      response.on('data', (chunk) => { body += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, at: Date.now() }))
    })
    request.on('error', reject)
  }))
  await allArrived
  t.equal(arrived, IN_FLIGHT, `${IN_FLIGHT} requests are in flight, waiting on Graph`)

  server.child.kill('SIGTERM')
  await server.waitFor(/"signal":"SIGTERM".*"msg":"closing/)
  // No new connections once the listening socket is closed (right after the close hooks start):
  // try until a connection is refused; every try waits for its own answer.
  let refused = ''
  while (refused !== 'ECONNREFUSED') {
    refused = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1')
      socket.on('connect', () => { socket.destroy(); resolve('connected') })
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
    })
  }
  t.equal(server.child.exitCode, null, 'new connections are refused while the in-flight requests still run')

  release()
  const results = await Promise.all(answers)
  const lastAnswer = Math.max(...results.map((r) => r.at))
  t.same(results.map((r) => r.status), Array(IN_FLIGHT).fill(200), 'every in-flight request was answered 200')
  t.ok(results.every((r) => (JSON.parse(r.body) as { items: unknown[] }).items.length > 0), 'with its groups')
  const { code, signal } = await server.exited
  const exitedAfter = Date.now() - lastAnswer
  t.same({ code, signal }, { code: 0, signal: null }, 'exit code 0')
  t.comment(`exited ${exitedAfter} ms after the last answer`)
  t.ok(exitedAfter < 60_000, 'well before the grace ran out: idle keep-alive connections did not hold the exit')
  await Promise.all(sockets.filter((socket) => !socket.destroyed).map((socket) => once(socket, 'close')))
  t.ok(sockets.every((socket) => socket.destroyed), 'the server closed every kept-alive connection')
})

t.test('a client that sends its body too slowly is cut (requestTimeout)', async (t) => {
  const database = await createTestDatabase(t)
  const server = startServer(t, { PORT: '0', DATABASE_URL: database.connectionString, GRAPH_BASE_URL: 'http://127.0.0.1:9/v1.0', GUESTGATE_REQUEST_TIMEOUT_SECONDS: '1' })
  const { port } = new URL(await server.listening())
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  // Headers, then only part of the promised body, then nothing (a public route, so the body is read).
  socket.write('POST /v1/sandbox/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":')
  let received = ''
  socket.on('data', (chunk) => { received += chunk.toString() })
  await once(socket, 'close')
  t.match(received, /^HTTP\/1\.1 408/, 'answered 408 Request Timeout, then closed')
  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0)
})
