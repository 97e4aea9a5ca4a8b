// Property-based fuzzing of every operation (see test/helpers/operation-fuzz.ts): at least 300
// generated requests per operation, valid, mutated and arbitrary; no 5xx, every 4xx a problem
// naming the field when it is a validation error. bench/operation-fuzz.ts runs 10,000.
import fc from 'fast-check'
import t from 'tap'
import { build } from '../helper.js'
import { ALL_ROLES, FUZZ_ENV, newTally, operationsOf, send } from '../helpers/operation-fuzz.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
const SEED = Number(process.env.FUZZ_SEED ?? 20261201)

// 18,000 requests or more: well past the suite's per-file timeout on a busy machine (it ran out
// there once at 240 s); a hang still ends.
t.setTimeout(15 * 60_000)

t.test('every operation: no 5xx, every 4xx a problem naming its field', async (t) => {
  const { app, token } = await build(t, FUZZ_ENV)
  const operations = operationsOf(app, await token(ALL_ROLES, { name: 'Fuzz Caller' }))
  t.ok(operations.length >= 20, `${operations.length} operations in the spec`)
  const summary: string[] = []
  for (const operation of operations) {
    const tally = newTally()
    await fc.assert(fc.asyncProperty(operation.request, async (request) => {
      const problem = await send(app, request, tally)
      if (problem) throw new Error(problem)
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true })
      .then(() => t.pass(`${operation.operationId}: ${tally.runs} requests`), (error: Error) => t.fail(`${operation.operationId}: ${error.message.slice(0, 2000)}`))
    t.ok(tally.runs >= RUNS, `${operation.operationId}: at least ${RUNS} runs`)
    summary.push(`${operation.operationId} ${tally.runs} ${JSON.stringify(tally.byStatus)}`)
  }
  t.comment(summary.join('\n'))
})
