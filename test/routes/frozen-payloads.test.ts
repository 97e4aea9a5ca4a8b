// src/routes/frozen-payloads.ts: a frozen payload's JSON is made once per route, by the route's
// own response serializer; anything else is serialized per answer as usual.
import Fastify from 'fastify'
import t from 'tap'
import { frozenPayloads } from '../../src/routes/frozen-payloads.js'

t.test('a frozen payload is serialized once, by the route schema; others every time', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let serializations = 0
  app.setSerializerCompiler(({ schema }) => {
    const fields = Object.keys((schema as { properties: Record<string, unknown> }).properties)
    return (data: Record<string, unknown>) => {
      serializations++
      return JSON.stringify(Object.fromEntries(fields.map((field) => [field, data[field]])))
    }
  })
  const send = frozenPayloads()
  let payload: object = Object.freeze({ name: 'first', secret: 'not in the schema' })
  app.get('/page', { schema: { response: { 200: { type: 'object', properties: { name: { type: 'string' } } } } } }, async (_request, reply) => send(reply, payload))

  const get = () => app.inject({ method: 'GET', url: '/page' })
  for (let i = 0; i < 3; i++) {
    const res = await get()
    t.equal(res.statusCode, 200)
    t.equal(res.body, '{"name":"first"}', 'only the schema\'s fields')
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  }
  t.equal(serializations, 1, 'the same frozen object: its JSON made once')

  payload = Object.freeze({ name: 'second' })
  t.equal((await get()).body, '{"name":"second"}', 'another frozen object: its own JSON')
  t.equal(serializations, 2)

  payload = { name: 'mutable' }
  await get()
  ;(payload as { name: string }).name = 'changed'
  t.equal((await get()).body, '{"name":"changed"}', 'not frozen: serialized on every answer')
  t.equal(serializations, 4)
})

t.test('each route keeps its own JSON: the same object under another schema is serialized by that schema', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const shared = Object.freeze({ name: 'n', kind: 'k' })
  const schemaOf = (field: string) => ({ response: { 200: { type: 'object', properties: { [field]: { type: 'string' } } } } })
  const sendName = frozenPayloads()
  const sendKind = frozenPayloads()
  app.get('/name', { schema: schemaOf('name') }, async (_request, reply) => sendName(reply, shared))
  app.get('/kind', { schema: schemaOf('kind') }, async (_request, reply) => sendKind(reply, shared))
  t.equal((await app.inject({ url: '/name' })).body, '{"name":"n"}')
  t.equal((await app.inject({ url: '/kind' })).body, '{"kind":"k"}')
})
