import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import type { TokenCredential } from '@azure/identity'
import { Client, HTTPMessageHandler, ResponseType } from '@microsoft/microsoft-graph-client'
import t, { type Test } from 'tap'
import { GraphRequestError, isAmbiguousFailure } from '../../src/graph/graph-gateway.js'
import {
  AuthMiddleware,
  createGraphMiddleware,
  DeadlineMiddleware,
  graphRequestErrorFromChain,
  RetryMiddleware,
  type RetryInfo,
  type RetrySettings,
} from '../../src/graph/graph-middleware.js'

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
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    for await (const chunk of req) body += chunk
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
    const scripted = script[Math.min(seen.length, script.length) - 1] as ScriptedAnswer
    res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers })
    res.end(scripted.body ?? '{}')
  }
  // node:http does not wait for a handler's promise: it answers through res.
  const server = createServer((req, res) => { void answer(req, res) })
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

function clientFor(origin: string, options: { retry?: RetrySettings; credential?: TokenCredential; timeoutMs?: number } = {}) {
  const retries: RetryInfo[] = []
  const client = Client.initWithMiddleware({
    baseUrl: origin,
    defaultVersion: 'v1.0',
    middleware: createGraphMiddleware({
      credential: options.credential ?? tokenCredential('token-abc'),
      retry: { baseDelayMs: 5, ...options.retry },
      onRetry: (info) => retries.push(info),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    }),
  })
  const get = (path: string): Promise<Response> =>
    client.api(path).responseType(ResponseType.RAW).header('client-request-id', 'corr-1').get()
  const send = (method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string): Promise<Response> => {
    const request = client.api(path).responseType(ResponseType.RAW)
    switch (method) {
      case 'POST': return request.post({ a: 1 })
      case 'PATCH': return request.patch({ a: 1 })
      case 'PUT': return request.put({ a: 1 })
      case 'DELETE': return request.delete()
    }
  }
  return { client, retries, get, send }
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
  const { seen, origin } = await scriptedServer(t, [{ status: 504 }])
  const { get, retries } = clientFor(origin, { retry: { maxRetries: 2, baseDelayMs: 1_000, maxDelayMs: 20 } })
  await get('/users')
  // every() of nothing is true: first make sure there were retries to look at.
  t.equal(seen.length, 3, 'the first call and two retries reached the server')
  t.equal(retries.length, 2)
  t.ok(retries.every((r) => r.delayMs <= 20), `delays ${retries.map((r) => r.delayMs).join(', ')} are capped`)
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
  const response = (await client.api('/invitations').responseType(ResponseType.RAW).post({ invitedUserEmailAddress: 'a@b.example' })) as Response
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

t.test('a refused connection becomes ConnectionFailed with status 0, not retried', async (t) => {
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const { port } = closed.address() as AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const { get, retries } = clientFor(`http://127.0.0.1:${port}`)
  const error = await chainError(get('/users'))
  t.equal(error?.status, 0)
  t.equal(error?.code, 'ConnectionFailed')
  t.match(error?.message, /ECONNREFUSED/)
  t.notMatch(error?.message, /token-abc/)
  t.same(retries, [])
})

/** A raw TCP server that reads a request and then does what `onRequest` does with the socket. */
async function rawServer(t: Test, onRequest: (socket: Socket) => void) {
  let requests = 0
  const server = createNetServer((socket) => {
    socket.once('data', () => {
      requests++
      onRequest(socket)
    })
  })
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise((resolve) => server.close(resolve))
  })
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests }
}

t.test('a connection dropped after the request was sent is NetworkError (the write may have happened), sent once', async (t) => {
  const server = await rawServer(t, (socket) => socket.destroy())
  const { send, retries } = clientFor(server.origin)
  const error = await chainError(send('POST', '/invitations'))
  t.equal(error?.status, 0)
  t.equal(error?.code, 'NetworkError')
  t.equal(isAmbiguousFailure(error), true)
  t.equal(server.requests(), 1)
  t.same(retries, [])
})

t.test('a request past its deadline fails as Timeout and is not retried', async (t) => {
  const server = await rawServer(t, () => undefined)
  const { send, retries } = clientFor(server.origin, { timeoutMs: 100 })
  const error = await chainError(send('POST', '/invitations'))
  t.equal(error?.status, 0)
  t.equal(error?.code, 'Timeout')
  t.equal(isAmbiguousFailure(error), true)
  t.equal(server.requests(), 1)
  t.same(retries, [])
})

t.test('each retry of a read gets a fresh deadline', async (t) => {
  // The first attempt's deadline expires while the retry is in flight: the retry must not
  // carry it. Deadlines are controllers here, so "expires" happens exactly when we say.
  const deadlines: AbortController[] = []
  const deadlineSignal = () => {
    const controller = new AbortController()
    deadlines.push(controller)
    return controller.signal
  }
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    if (requests === 1) {
      res.writeHead(503, { 'retry-after': '0' }).end('{}')
      return
    }
    deadlines[0]?.abort(new DOMException('The operation timed out.', 'TimeoutError'))
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const client = Client.initWithMiddleware({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    defaultVersion: 'v1.0',
    middleware: [new AuthMiddleware(tokenCredential('t')), new RetryMiddleware({ baseDelayMs: 1 }), new DeadlineMiddleware(1_000, deadlineSignal), new HTTPMessageHandler()],
  })
  const response = (await client.api('/users').responseType(ResponseType.RAW).get()) as Response
  t.equal(response.status, 200, 'the retry finished although the first deadline had passed')
  t.equal(requests, 2)
  t.equal(deadlines.length, 2, 'one deadline per attempt')
  t.equal(deadlines[0]?.signal.aborted, true)
})

t.test('writes are sent again only when Graph said it did not process them', async (t) => {
  const cases: Array<{ name: string; script: ScriptedAnswer[]; calls: number; status: number }> = [
    { name: '504', script: [{ status: 504 }, { status: 201 }], calls: 1, status: 504 },
    { name: '502', script: [{ status: 502 }, { status: 201 }], calls: 1, status: 502 },
    { name: '500', script: [{ status: 500 }, { status: 201 }], calls: 1, status: 500 },
    { name: '503 without Retry-After', script: [{ status: 503 }, { status: 201 }], calls: 1, status: 503 },
    { name: '503 with Retry-After', script: [{ status: 503, headers: { 'retry-after': '0' } }, { status: 201 }], calls: 2, status: 201 },
    { name: '429 with Retry-After', script: [{ status: 429, headers: { 'retry-after': '0' } }, { status: 201 }], calls: 2, status: 201 },
    { name: '429 without Retry-After', script: [{ status: 429 }, { status: 201 }], calls: 2, status: 201 },
  ]
  for (const method of ['POST', 'PATCH', 'PUT', 'DELETE'] as const) {
    for (const c of cases) {
      const { seen, origin } = await scriptedServer(t, c.script)
      const response = await clientFor(origin).send(method, '/things')
      t.equal(response.status, c.status, `${method} ${c.name}: answered ${c.status}`)
      t.equal(seen.length, c.calls, `${method} ${c.name}: sent ${c.calls} time(s)`)
      t.ok(seen.every((request) => request.method === method))
    }
  }
})

t.test('reads are retried on 429, 503 and 504', async (t) => {
  for (const status of [429, 503, 504]) {
    const { seen, origin } = await scriptedServer(t, [{ status }, { status: 200 }])
    const { get, retries } = clientFor(origin)
    t.equal((await get('/users')).status, 200)
    t.equal(seen.length, 2, `${status}: one retry`)
    t.same(retries.map((r) => r.status), [status])
  }
})
