// What guestgate's response headers cost by themselves, below Fastify (issue 11.6): the pipeline
// benchmark's "same headers" app shows that plain Fastify sending guestgate's headers loses as
// much as guestgate does; this one asks whether that cost is Fastify's or Node's, and whether it
// is the number of header lines or their bytes. One process per variant, each answering
// GET / with the same 1 KiB JSON body:
//   node              node:http, content-type and a UUID x-request-id (what any service sends)
//   node + headers    the same plus guestgate's other response headers (the security headers of
//                     plugins/helmet.ts, read off a real answer, and the three RateLimit-* ones)
//   node + one line   the same bytes as "node + headers" in a single header line
//   fastify           Fastify with a response schema, same body, x-request-id
//   fastify + headers the same plus guestgate's headers (pipeline's "same headers")
// Load from autocannon (a separate process); the server's CPU time per request from /proc.
//   BENCH_ROUNDS (3), BENCH_SECONDS (6), BENCH_CONNECTIONS (50)
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import hardening from '../src/plugins/helmet.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const VARIANTS = ['node', 'node + headers', 'node + one line', 'fastify', 'fastify + headers'] as const
type Variant = typeof VARIANTS[number]

/** guestgate's headers beyond content-type and x-request-id: helmet's plugin on a bare app, and the rate limiter's. */
async function guestgateHeaders(): Promise<Record<string, string>> {
  const app = Fastify()
  await app.register(hardening)
  app.get('/', async () => ({}))
  const answer = await app.inject({ method: 'GET', url: '/' })
  await app.close()
  const own = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive'])
  const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !own.has(name)).map(([name, value]) => [name, String(value)]))
  return { ...headers, 'ratelimit-limit': '300', 'ratelimit-remaining': '299', 'ratelimit-reset': '60' }
}

async function serve(variant: Variant): Promise<void> {
  const headers = variant.endsWith('headers') ? await guestgateHeaders() : {}
  const lineBytes = Object.entries(await guestgateHeaders()).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0)
  // "x-pad: " and CRLF are 9 bytes of the line.
  const extra = variant === 'node + one line' ? { 'x-pad': 'a'.repeat(lineBytes - 9) } : headers
  const body = { items: Array.from({ length: 12 }, (_, i) => ({ action: `action${i}`, subject: 'Guest', allowed: i % 3 !== 0, reason: 'policy section of the role' })) }
  const json = JSON.stringify(body)
  let url: string
  if (variant.startsWith('node')) {
    const server = http.createServer((_request, response) => {
      // Object.assign, not a spread: V8 copies these 16 keys several times faster that way.
      response.writeHead(200, Object.assign({ 'content-type': 'application/json; charset=utf-8', 'x-request-id': randomUUID() }, extra))
      response.end(json)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  } else {
    const app = Fastify({ genReqId: () => randomUUID() })
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id)
      reply.headers(extra)
      done()
    })
    const schema = { response: { 200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', additionalProperties: true } } } } } }
    app.get('/', { schema }, async () => body)
    url = await app.listen({ host: '127.0.0.1', port: 0 })
  }
  console.log(`LISTENING ${url} ${Object.keys(extra).length}`)
}

async function start(variant: Variant): Promise<{ child: ChildProcess; url: string; extraHeaders: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', variant], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  while (!/LISTENING (\S+) (\d+)\n/.test(output)) {
    const [event] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => ['exit'])])
    if (event === 'exit') throw new Error(`${variant} exited: ${output}`)
  }
  const [, url, extraHeaders] = /LISTENING (\S+) (\d+)\n/.exec(output)!
  return { child, url: url!, extraHeaders: Number(extraHeaders) }
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function load(server: { child: ChildProcess; url: string }, seconds: number, connections: number): Promise<{ rps: number; cpuUs: number }> {
  const before = await cpuSeconds(server.child.pid!)
  const { stdout } = await promisify(execFile)(path.join(root, 'node_modules/.bin/autocannon'), ['-c', String(connections), '-d', String(seconds), '--json', `${server.url}/`], { maxBuffer: 64 * 1024 * 1024 })
  const cpu = await cpuSeconds(server.child.pid!) - before
  const result = JSON.parse(stdout) as { requests: { average: number; total: number }; non2xx: number; errors: number }
  if (result.non2xx + result.errors > 0) throw new Error(`${server.url}: ${result.non2xx + result.errors} failed requests`)
  return { rps: result.requests.average, cpuUs: cpu * 1e6 / result.requests.total }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] as Variant)
} else {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  const seconds = Number(process.env.BENCH_SECONDS ?? 6)
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
  const servers = Object.fromEntries(await Promise.all(VARIANTS.map(async (variant) => [variant, await start(variant)] as const)))
  try {
    for (const server of Object.values(servers)) await load(server, Math.min(seconds, 3), connections)
    const cpu: Record<string, number[]> = Object.fromEntries(VARIANTS.map((variant) => [variant, []]))
    const rps: Record<string, number[]> = Object.fromEntries(VARIANTS.map((variant) => [variant, []]))
    for (let round = 1; round <= rounds; round++) {
      for (const variant of VARIANTS) {
        const result = await load(servers[variant]!, seconds, connections)
        cpu[variant]!.push(result.cpuUs)
        rps[variant]!.push(result.rps)
        console.log(`round ${round} ${variant.padEnd(18)} ${result.rps.toFixed(0).padStart(7)} req/s  server CPU ${result.cpuUs.toFixed(1)} us per request`)
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
    const extra = servers['node + headers']!.extraHeaders
    console.log(`\n${connections} connections, ${seconds} s per measurement, ${rounds} rounds; medians; ${extra} extra header lines`)
    for (const variant of VARIANTS) console.log(`${variant.padEnd(18)} ${median(rps[variant]!).toFixed(0).padStart(7)} req/s  ${median(cpu[variant]!).toFixed(1).padStart(5)} us CPU per request`)
    const [node, nodeHeaders, oneLine, fastify, fastifyHeaders] = VARIANTS.map((variant) => median(cpu[variant]!))
    console.log(`node:    the ${extra} header lines cost ${(nodeHeaders! - node!).toFixed(1)} us per request (${((nodeHeaders! - node!) / extra * 1000).toFixed(0)} ns a line); their bytes in one line ${(oneLine! - node!).toFixed(1)} us`)
    console.log(`fastify: the ${extra} header lines cost ${(fastifyHeaders! - fastify!).toFixed(1)} us per request; CPU ratio plain / with headers ${(fastify! / fastifyHeaders!).toFixed(2)}`)
  } finally {
    for (const server of Object.values(servers)) server.child.kill('SIGTERM')
    await Promise.all(Object.values(servers).filter((server) => server.child.exitCode === null).map((server) => once(server.child, 'exit')))
  }
}
