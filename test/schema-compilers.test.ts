// Route schemas compile on first use (src/schema-compilers.ts): each compiles once, when first
// needed, and answers as the compiled one would. Since a start no longer compiles them all, this
// test does: every request part and every answer of every route of the app must compile.
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { RouteOptions } from 'fastify'
import t from 'tap'
import { serializerOnFirstUse, validatorOnFirstUse, type Validator } from '../src/schema-compilers.js'
import { createValidatorCompiler } from '../src/validation.js'
import { build } from './helper.js'

t.test('a validator compiles on its first call, once, and reports each call\'s errors', async (t) => {
  let compiled = 0
  const validate = validatorOnFirstUse(() => {
    compiled++
    const inner: Validator = (data: unknown) => {
      inner.errors = data === 'ok' ? null : [{ keyword: 'const', instancePath: '', schemaPath: '#', params: {}, message: `not ok: ${String(data)}` }]
      return data === 'ok'
    }
    return inner
  })
  t.equal(compiled, 0, 'nothing compiled before the first request')
  t.notOk(validate('no'))
  t.equal(validate.errors?.[0]?.message, 'not ok: no')
  t.ok(validate('ok'))
  t.equal(validate.errors, null, 'a valid call clears the errors of the previous one')
  t.equal(compiled, 1)
})

t.test('a serializer compiles on its first answer, once', async (t) => {
  let compiled = 0
  const serialize = serializerOnFirstUse(() => { compiled++; return (data) => JSON.stringify(data) })
  t.equal(compiled, 0)
  t.equal(serialize({ a: 1 }), '{"a":1}')
  t.equal(serialize([2]), '[2]')
  t.equal(compiled, 1)
})

t.test('every route\'s request and response schemas compile', async (t) => {
  const routes: RouteOptions[] = []
  const { app } = await build(t, {}, { onRoute: (route) => { routes.push(route) } })
  const validator = createValidatorCompiler()
  const serializer = SerializerSelector()(app.getSchemas(), {})
  let validators = 0
  let serializers = 0
  for (const route of routes) {
    const schema = route.schema as Record<string, unknown> | undefined
    if (!schema) continue
    const method = String(route.method)
    for (const httpPart of ['body', 'querystring', 'params', 'headers'] as const) {
      if (!schema[httpPart]) continue
      const validate = validator({ schema: schema[httpPart], httpPart, method, url: route.url })
      // The first call compiles: what a start used to do.
      t.doesNotThrow(() => validate(undefined), `${method} ${route.url} ${httpPart}`)
      validators++
    }
    for (const [httpStatus, answer] of Object.entries((schema.response ?? {}) as Record<string, { content?: Record<string, { schema: unknown }> }>)) {
      const bodies = answer.content ? Object.values(answer.content).map((content) => content.schema) : [answer]
      for (const body of bodies) {
        t.doesNotThrow(() => serializer({ schema: body, method, url: route.url, httpStatus }), `${method} ${route.url} ${httpStatus}`)
        serializers++
      }
    }
  }
  t.ok(validators > 50, `${validators} request validators compiled`)
  t.ok(serializers > 200, `${serializers} response serializers compiled`)
})
