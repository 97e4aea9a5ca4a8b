// The Graph simulator as its own process (`npm run simulator`): the same seeded directory and
// /_simulator control API as the embedded one, for guestgate (GRAPH_BASE_URL), the conformance
// script and tests in other processes. Settings come from the environment:
//   PORT (default 4000), HOST (default 127.0.0.1)
//   GRAPH_SIMULATOR_APP_REGISTRATION: well-configured (default) or mis-configured, the Graph
//     permissions guestgate's own service principal holds (see npm run doctor)
//   GRAPH_SIMULATOR_STATE_FILE: keep the directory in this JSON file across restarts
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import closeWithGrace from 'close-with-grace'
import { buildGraphSimulator } from './graph-simulator.js'
import { APP_REGISTRATION_SEEDS } from './seed.js'

const SimulatorEnv = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 4000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  GRAPH_SIMULATOR_APP_REGISTRATION: Type.Union(APP_REGISTRATION_SEEDS.map((seed) => Type.Literal(seed)), { default: 'well-configured' }),
  GRAPH_SIMULATOR_STATE_FILE: Type.Optional(Type.String({ minLength: 1 })),
})

const known = Object.keys(SimulatorEnv.properties)
const raw = Object.fromEntries(Object.entries(process.env).filter(([key, value]) => known.includes(key) && value !== undefined && value !== ''))
const env = Value.Convert(SimulatorEnv, Value.Default(SimulatorEnv, raw))
const problems = [...Value.Errors(SimulatorEnv, env)].map((error) => `${error.path.slice(1)}: ${error.message} (got ${JSON.stringify(error.value)})`)
if (problems.length > 0) {
  console.error(`Invalid Graph simulator settings:\n  - ${problems.join('\n  - ')}`)
  process.exit(1)
}
const { PORT, HOST, GRAPH_SIMULATOR_APP_REGISTRATION, GRAPH_SIMULATOR_STATE_FILE } = Value.Decode(SimulatorEnv, env)

const simulator = await buildGraphSimulator({
  logger: false,
  appRegistration: GRAPH_SIMULATOR_APP_REGISTRATION,
  ...(GRAPH_SIMULATOR_STATE_FILE ? { stateFile: GRAPH_SIMULATOR_STATE_FILE } : {}),
})
closeWithGrace({ delay: 10_000 }, async ({ err }) => {
  if (err) console.error(err)
  await simulator.close()
})
const origin = await simulator.listen({ host: HOST, port: PORT })
console.log(`Graph simulator listening on ${origin}/v1.0 (control API: ${origin}/_simulator)`)
