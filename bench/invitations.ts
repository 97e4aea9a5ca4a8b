// Audited invitations end to end: guestgate started as `npm start` starts it (sandbox mode on the
// machine's Postgres), Microsoft Graph played by the simulator in its own process, load from
// a closed-loop load generator in this process (keep-alive connections, latencies to the
// microsecond: autocannon's histogram rounds to whole milliseconds). At 1, 10 and 50 concurrent callers, with and without an Idempotency-Key on every
// request: throughput, p50, p99. Prints a table; asserts nothing.
//
//   node --import tsx bench/invitations.ts
//
// BENCH_SECONDS (default 10) per run; BENCH_SERVER_URL (postgresql://postgres@127.0.0.1:5432).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Agent, request as httpRequest } from 'node:http'
import pg from 'pg'
import { parse, stringify } from 'yaml'
import { applyMigrations } from '../src/db/migrate.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const SERVER = process.env.BENCH_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432'
const children: ChildProcess[] = []

function start(entry: string, env: Record<string, string>, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = ready.exec(output)
      if (match) resolve(match[1]!)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}):\n${output}`)))
  })
}

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: `${SERVER}/postgres` })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

interface Row { callers: number; key: boolean; requests: number; rps: number; p50: number; p99: number; non2xx: number }

/** `callers` workers, each sending its next request when the previous answer arrives. */
async function load(url: string, callers: number, seconds: number, next: () => { headers: Record<string, string>; body: string }) {
  const agent = new Agent({ keepAlive: true, maxSockets: callers })
  const latencies: number[] = []
  let non2xx = 0
  const end = performance.now() + seconds * 1000
  const one = () => new Promise<void>((resolve, reject) => {
    const { headers, body } = next()
    const started = performance.now()
    const req = httpRequest(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => {
        latencies.push(performance.now() - started)
        if ((res.statusCode ?? 0) >= 300) non2xx++
        resolve()
      })
    })
    req.on('error', reject)
    req.end(body)
  })
  const started = performance.now()
  await Promise.all(Array.from({ length: callers }, async () => { while (performance.now() < end) await one() }))
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  return { requests: latencies.length, rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), non2xx }
}

async function main() {
  const database = `guestgate_bench_${randomBytes(4).toString('hex')}`
  await admin(`CREATE DATABASE "${database}"`)
  const databaseUrl = `${SERVER}/${database}`
  await applyMigrations(databaseUrl)
  // Only what the bench changes is typed; the rest is written back as it was read.
  const policy = parse(await readFile(new URL('../config/policy.sandbox.yaml', import.meta.url), 'utf8')) as { version: string; roles: { 'Guests.Invite': { invitations: { maxPerHour: number } } } }
  policy.version += '+bench'
  policy.roles['Guests.Invite'].invitations.maxPerHour = 10_000_000
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-bench-'))
  await writeFile(path.join(dir, 'policy.yaml'), stringify(policy))
  try {
    const graphUrl = await start('src/graph/simulator/server.ts', { PORT: '0' }, /listening on (http:\/\/\S+\/v1\.0)/)
    const base = await start('src/server.ts', {
      GUESTGATE_MODE: 'sandbox', PORT: '0', DATABASE_URL: databaseUrl, GRAPH_BASE_URL: graphUrl,
      GUESTGATE_POLICY_FILE: path.join(dir, 'policy.yaml'), LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '20',
      // Measures guestgate, not its pacing: budgets out of the way.
      GUESTGATE_INVITATIONS_PER_MINUTE: '60000', GUESTGATE_INVITATION_BURST: '10000', GRAPH_WRITES_PER_SECOND: '1000', GRAPH_WRITE_BURST: '10000',
    }, /Docs: (http:\/\/127\.0\.0\.1:\d+)\/docs/)
    const mint = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Invite'] }) })
    const { accessToken } = await mint.json() as { accessToken: string }
    const graphOrigin = new URL(graphUrl).origin

    // Warm-up (JIT, schema compilation, connection pools), not measured.
    let w = 0
    await load(`${base}/v1/invitations`, 10, Math.min(5, SECONDS), () => ({
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: `warmup${w++}@partner.example`, sendEmail: false }),
    }))
    const rows: Row[] = []
    for (const callers of [1, 10, 50]) {
      for (const key of [false, true]) {
        // Each run starts from the seed, so the directory's size does not favour either run.
        await fetch(`${graphOrigin}/_simulator/reset`, { method: 'POST' })
        let n = 0
        const result = await load(`${base}/v1/invitations`, callers, SECONDS, () => ({
          headers: {
            authorization: `Bearer ${accessToken}`, 'content-type': 'application/json',
            ...(key ? { 'idempotency-key': randomUUID() } : {}),
          },
          body: JSON.stringify({ email: `bench${callers}${key ? 'k' : 'n'}${n++}@partner.example`, sendEmail: false }),
        }))
        rows.push({ callers, key, ...result })
        console.error(`callers ${callers} key ${key}: ${result.rps.toFixed(0)} req/s p50 ${result.p50.toFixed(2)} ms p99 ${result.p99.toFixed(2)} ms non-2xx ${result.non2xx}`)
      }
    }
    console.log(`\n| callers | Idempotency-Key | requests | invitations/s | p50 ms | p99 ms | non-2xx |`)
    console.log('|---|---|---|---|---|---|---|')
    for (const r of rows) console.log(`| ${r.callers} | ${r.key ? 'yes' : 'no'} | ${r.requests} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.non2xx} |`)
    console.log('\nkey overhead at p50 (ms):', [1, 10, 50].map((c) => {
      const [without, withKey] = [rows.find((r) => r.callers === c && !r.key)!, rows.find((r) => r.callers === c && r.key)!]
      return `${c} callers: ${(withKey.p50 - without.p50).toFixed(2)}`
    }).join(', '))
  } finally {
    for (const child of children) child.kill('SIGKILL')
    await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
  }
}

await main()
