import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TokenCredential } from '@azure/identity'
import { Client, ResponseType } from '@microsoft/microsoft-graph-client'
import t, { type Test } from 'tap'
import { GraphRequestError } from '../../src/graph/graph-gateway.js'
import { createGraphMiddleware, graphRequestErrorFromChain, type RetryInfo, type RetrySettings } from '../../src/graph/graph-middleware.js'

interface ScriptedAnswer {
  status: number
  headers?: Record<string, string>
  body?: string
}

interface SeenRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

/** A loopback server answering from a script (the last answer repeats) and recording requests. */
async function scriptedServer(t: Test, script: ScriptedAnswer[]) {
  const seen: SeenRequest[] = []
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
    const answer = script[Math.min(seen.length, script.length) - 1] as ScriptedAnswer
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
    res.end(answer.body ?? '{}')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as AddressInfo
  return { seen, origin: `http://127.0.0.1:${port}` }
}

/** The GraphRequestError a failed request carries through the SDK. */
const chainError = (request: Promise<unknown>) =>
  request.then(
    () => undefined,
    (e: unknown) => graphRequestErrorFromChain(e),
  )

const tokenCredential = (token: string): TokenCredential => ({
  getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
})

function clientFor(origin: string, options: { retry?: RetrySettings; credential?: TokenCredential } = {}) {
  const retries: RetryInfo[] = []
  const client = Client.initWithMiddleware({
    baseUrl: origin,
    defaultVersion: 'v1.0',
    middleware: createGraphMiddleware({
      credential: options.credential ?? tokenCredential('token-abc'),
      retry: { baseDelayMs: 5, ...options.retry },
      onRetry: (info) => retries.push(info),
    }),
  })
  const get = (path: string): Promise<Response> =>
    client.api(path).responseType(ResponseType.RAW).header('client-request-id', 'corr-1').get()
  return { client, retries, get }
}

t.test('sends Authorization and client-request-id to a plain-http host', async (t) => {
  const { seen, origin } = await scriptedServer(t, [{ status: 200 }])
  const response = await clientFor(origin).get('/users')
  t.equal(response.status, 200)
  t.equal(seen.length, 1)
  t.equal(seen[0]?.url, '/v1.0/users')
  t.equal(seen[0]?.headers.authorization, 'Bearer token-abc')
  t.equal(seen[0]?.headers['client-request-id'], 'corr-1')
})

t.test('honours a decimal Retry-After on 429, then succeeds', async (t) => {
  const { seen, origin } = await scriptedServer(t, [{ status: 429, headers: { 'retry-after': '0.05' } }, { status: 200 }])
  const { get, retries } = clientFor(origin)
  const started = Date.now()
  const response = await get('/users')
  t.equal(response.status, 200)
  t.equal(seen.length, 2)
  t.same(retries, [{ status: 429, attempt: 1, delayMs: 50 }])
  t.ok(Date.now() - started >= 45, 'waited out the Retry-After')
})

t.test('backs off exponentially with jitter and stops after maxRetries', async (t) => {
  const { seen, origin } = await scriptedServer(t, [{ status: 503 }])
  const { get, retries } = clientFor(origin, { retry: { maxRetries: 3, baseDelayMs: 8 } })
  const response = await get('/users')
  t.equal(response.status, 503, 'the last answer is handed back')
  t.equal(seen.length, 4, 'maxRetries + 1 calls')
  t.same(retries.map((r) => r.attempt), [1, 2, 3])
  retries.forEach((retry, index) => {
    const ceiling = 8 * 2 ** index
    t.ok(retry.delayMs >= ceiling / 2 && retry.delayMs <= ceiling, `retry ${retry.attempt} waited ${retry.delayMs}ms of ${ceiling}`)
  })
})

t.test('caps backoff at maxDelayMs', async (t) => {
  const { origin } = await scriptedServer(t, [{ status: 504 }])
  const { get, retries } = clientFor(origin, { retry: { maxRetries: 2, baseDelayMs: 1_000, maxDelayMs: 20 } })
  await get('/users')
  t.ok(retries.every((r) => r.delayMs <= 20))
})

t.test('does not wait when Graph asks for longer than maxDelayMs', async (t) => {
  const { seen, origin } = await scriptedServer(t, [{ status: 429, headers: { 'retry-after': '120' } }, { status: 200 }])
  const { get, retries } = clientFor(origin, { retry: { maxDelayMs: 1_000 } })
  const response = await get('/users')
  t.equal(response.status, 429)
  t.equal(response.headers.get('retry-after'), '120')
  t.equal(seen.length, 1)
  t.same(retries, [])
})

t.test('an HTTP-date Retry-After in the past means retry now', async (t) => {
  const past = new Date(Date.now() - 60_000).toUTCString()
  const { seen, origin } = await scriptedServer(t, [{ status: 503, headers: { 'retry-after': past } }, { status: 200 }])
  const { get, retries } = clientFor(origin)
  t.equal((await get('/users')).status, 200)
  t.equal(seen.length, 2)
  t.same(retries, [{ status: 503, attempt: 1, delayMs: 0 }])
})

t.test('other errors are not retried', async (t) => {
  const { seen, origin } = await scriptedServer(t, [{ status: 500 }, { status: 200 }])
  const { get } = clientFor(origin)
  t.equal((await get('/users')).status, 500)
  t.equal(seen.length, 1)
})

t.test('a retried POST sends the same body again', async (t) => {
  const { seen, origin } = await scriptedServer(t, [{ status: 429, headers: { 'retry-after': '0' } }, { status: 201 }])
  const { client } = clientFor(origin)
  const response: Response = await client.api('/invitations').responseType(ResponseType.RAW).post({ invitedUserEmailAddress: 'a@b.example' })
  t.equal(response.status, 201)
  t.equal(seen.length, 2)
  t.equal(seen[1]?.body, seen[0]?.body)
  t.same(JSON.parse(seen[1]?.body ?? ''), { invitedUserEmailAddress: 'a@b.example' })
})

t.test('a credential failure becomes TokenAcquisitionFailed and sends nothing', async (t) => {
  const { seen, origin } = await scriptedServer(t, [{ status: 200 }])
  const failing: TokenCredential = {
    getToken: async () => {
      throw new Error('AADSTS7000215: Invalid client secret provided.\nTroubleshooting: https://aka.ms/x')
    },
  }
  const { get } = clientFor(origin, { credential: failing })
  const error = await chainError(get('/users'))
  t.ok(error instanceof GraphRequestError)
  t.equal(error?.status, 0)
  t.equal(error?.code, 'TokenAcquisitionFailed')
  t.match(error?.message, /AADSTS7000215/)
  t.notMatch(error?.message, /Troubleshooting/)
  t.equal(seen.length, 0)
})

t.test('a credential that returns no token fails the same way', async (t) => {
  const { origin } = await scriptedServer(t, [{ status: 200 }])
  const { get } = clientFor(origin, { credential: { getToken: async () => null } })
  const error = await chainError(get('/users'))
  t.equal(error?.code, 'TokenAcquisitionFailed')
})

t.test('an unreachable host becomes NetworkError with status 0, not retried', async (t) => {
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const { port } = closed.address() as AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const { get, retries } = clientFor(`http://127.0.0.1:${port}`)
  const error = await chainError(get('/users'))
  t.equal(error?.status, 0)
  t.equal(error?.code, 'NetworkError')
  t.match(error?.message, /ECONNREFUSED/)
  t.notMatch(error?.message, /token-abc/)
  t.same(retries, [])
})
