// Pipeline benchmark (issue 11.6): what authentication, the policy and guestgate's plumbing
// (request ids, metrics, problem handling) cost on a route with no I/O. One run, alternating
// rounds: a plain Fastify app with the same route schema and body against guestgate's
// authenticated, policy-checked GET /v1/me/permissions, each with request logging on and off;
// and the plain app sending guestgate's response headers too ("same headers"), which splits the
// gap into what the response carries and what guestgate does to make it.
// Servers and the load generator (autocannon) are separate processes. Prints req/s and ratios,
// and each server's CPU time per request (from /proc): on a machine others load too, req/s
// follow the load, CPU time per request much less.
//   BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_SERVER_URL (postgres server)
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { applyMigrations } from '../src/db/migrate.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const serverUrl = process.env.BENCH_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432'

interface Server { child: ChildProcess; url: string; token: string }

async function startVariant(variant: 'plain' | 'guestgate', log: 'on' | 'off', extra: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/pipeline-server.ts')], {
    cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_VARIANT: variant, BENCH_LOG: log, ...extra },
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  while (!/LISTENING (\S+) (\S+)\n/.test(output)) {
    const [event] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => ['exit'])])
    if (event === 'exit') throw new Error(`${variant} server exited: ${output}`)
  }
  const [, url, token] = /LISTENING (\S+) (\S+)\n/.exec(output)!
  return { child, url: url!, token: token! }
}

/** CPU seconds (user + system) the process has used so far; fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function load(server: Server): Promise<{ rps: number; p99: number; errors: number; cpuMsPer1000: number }> {
  const args = ['-c', String(connections), '-d', String(seconds), '--json', '-H', `authorization=Bearer ${server.token}`, `${server.url}/v1/me/permissions`]
  const cpuBefore = await cpuSeconds(server.child.pid!)
  const { stdout } = await promisify(execFile)(path.join(root, 'node_modules/.bin/autocannon'), args, { maxBuffer: 64 * 1024 * 1024 })
  const cpu = await cpuSeconds(server.child.pid!) - cpuBefore
  const result = JSON.parse(stdout) as { requests: { average: number; total: number }; latency: { p99: number }; non2xx: number; errors: number }
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.non2xx + result.errors, cpuMsPer1000: cpu * 1e6 / result.requests.total }
}

const database = `guestgate_bench_${randomBytes(4).toString('hex')}`
const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` })
await admin.connect()
await admin.query(`CREATE DATABASE "${database}"`)
const databaseUrl = `${serverUrl}/${database}`
await applyMigrations(databaseUrl)

const servers: Server[] = []
try {
  const guestgateOn = await startVariant('guestgate', 'on', { BENCH_DATABASE_URL: databaseUrl })
  servers.push(guestgateOn)
  const sample = await fetch(`${guestgateOn.url}/v1/me/permissions`, { headers: { authorization: `Bearer ${guestgateOn.token}` } })
  const body = await sample.text()
  // guestgate's own response headers (the rest Node adds to both apps alike; x-request-id is a new
  // UUID per request in both): the "same headers" variant sends them too.
  const nodeHeaders = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type', 'x-request-id'])
  const headers = JSON.stringify(Object.fromEntries([...sample.headers].filter(([name]) => !nodeHeaders.has(name))))
  const variants: Record<string, Server> = {
    'guestgate, logging on': guestgateOn,
    'guestgate, logging off': await startVariant('guestgate', 'off', { BENCH_DATABASE_URL: databaseUrl }),
    'plain, logging on': await startVariant('plain', 'on', { BENCH_BODY: body }),
    'plain, logging off': await startVariant('plain', 'off', { BENCH_BODY: body }),
    'same headers, logging on': await startVariant('plain', 'on', { BENCH_BODY: body, BENCH_HEADERS: headers }),
    'same headers, logging off': await startVariant('plain', 'off', { BENCH_BODY: body, BENCH_HEADERS: headers }),
  }
  servers.push(...Object.values(variants).slice(1))
  for (const name of ['plain, logging on', 'same headers, logging on']) {
    const plainBody = await (await fetch(`${variants[name]!.url}/v1/me/permissions`)).text()
    if (plainBody !== body) throw new Error(`${name}: the plain app does not answer the same body`)
  }

  console.log('servers ready; warming up')
  // Warm-up: JIT, caches (verified token, ability, permissions).
  for (const server of Object.values(variants)) await load({ ...server }).catch(() => undefined)
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
  const cpuResults: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const [name, server] of Object.entries(variants)) {
      const { rps, p99, errors, cpuMsPer1000 } = await load(server)
      if (errors > 0) throw new Error(`${name}: ${errors} failed requests`)
      results[name]!.push(rps)
      cpuResults[name]!.push(cpuMsPer1000)
      console.log(`round ${round} ${name.padEnd(24)} ${rps.toFixed(0).padStart(7)} req/s  p99 ${p99} ms  server CPU ${cpuMsPer1000.toFixed(0)} ms per 1,000 requests`)
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  // The target compares guestgate with plain Fastify. "same headers" shows how much of the gap is
  // the response itself (guestgate's security, rate-limit and request-id headers) rather than the
  // work behind it.
  const comparisons = [['guestgate', 'plain'], ['guestgate', 'same headers'], ['same headers', 'plain']] as const
  console.log(`\n${connections} connections, ${seconds} s per measurement, ${rounds} rounds; median req/s`)
  for (const log of ['on', 'off']) {
    for (const [a, b] of comparisons) {
      const first = results[`${a}, logging ${log}`]!
      const second = results[`${b}, logging ${log}`]!
      const ratios = first.map((value, i) => (value / second[i]!).toFixed(2))
      console.log(`logging ${log.padEnd(3)}: ${a} ${median(first).toFixed(0)}, ${b} ${median(second).toFixed(0)}, ratio ${(median(first) / median(second)).toFixed(2)} (per round: ${ratios.join(', ')})`)
    }
  }
  // The same comparisons in CPU time: the second's CPU per request over the first's (1: no more).
  console.log('\nserver CPU ms per 1,000 requests, median')
  for (const log of ['on', 'off']) {
    for (const [a, b] of comparisons) {
      const first = cpuResults[`${a}, logging ${log}`]!
      const second = cpuResults[`${b}, logging ${log}`]!
      const ratios = first.map((value, i) => (second[i]! / value).toFixed(2))
      console.log(`logging ${log.padEnd(3)}: ${a} ${median(first).toFixed(0)}, ${b} ${median(second).toFixed(0)}, ratio ${(median(second) / median(first)).toFixed(2)} (per round: ${ratios.join(', ')})`)
    }
  }
} finally {
  for (const server of servers) server.child.kill('SIGTERM')
  await Promise.all(servers.filter((server) => server.child.exitCode === null).map((server) => once(server.child, 'exit')))
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
  await admin.end()
}
