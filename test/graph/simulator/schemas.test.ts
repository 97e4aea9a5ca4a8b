// The simulator's request schemas compile on a route's first request (src/schema-compilers.ts), so
// its start compiles none; this test compiles every one, with the simulator's own Ajv options, so
// a schema that cannot compile fails here rather than on a first request.
import ValidatorSelector from '@fastify/ajv-compiler'
import type { RouteOptions } from 'fastify'
import t from 'tap'
import { buildGraphSimulator } from '../../../src/graph/simulator/graph-simulator.js'

t.test('every simulator route\'s request schemas compile', async (t) => {
  const routes: RouteOptions[] = []
  const sim = await buildGraphSimulator({ onRoute: (route) => { routes.push(route) } })
  t.teardown(() => sim.close())
  await sim.ready()
  const compile = ValidatorSelector()(sim.getSchemas() as Parameters<ValidatorSelector.ValidatorFactory>[0], { customOptions: { removeAdditional: false } })
  let compiled = 0
  for (const route of routes) {
    const schema = route.schema as Record<string, unknown> | undefined
    if (!schema) continue
    for (const httpPart of ['body', 'querystring', 'params', 'headers'] as const) {
      if (!schema[httpPart]) continue
      const validate = compile({ schema: schema[httpPart], method: String(route.method), url: route.url, httpPart })
      t.type(validate, 'function', `${String(route.method)} ${route.url} ${httpPart}`)
      compiled++
    }
  }
  t.ok(compiled >= 8, `${compiled} request schemas compiled (the control routes'; Graph's own routes check their input by hand, with Graph's errors)`)
})

t.test('a request the schema refuses is refused on the route\'s first request, as before', async (t) => {
  const sim = await buildGraphSimulator()
  t.teardown(() => sim.close())
  const res = await sim.inject({ method: 'POST', url: '/_simulator/throttling', payload: { scale: 'fast', misspelt: true } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'FST_ERR_VALIDATION', message: /additional properties/ }, 'a misspelt property is refused, not dropped (removeAdditional: false)')
  const again = await sim.inject({ method: 'POST', url: '/_simulator/throttling', payload: { scale: 'fast', misspelt: true } })
  t.equal(again.body, res.body, 'the second request gets the same answer from the compiled validator')
})
