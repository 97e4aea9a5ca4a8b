// Operation fuzz benchmark: FUZZ_RUNS (default 10,000) generated requests per operation of the
// OpenAPI document, the same generators and property as test/routes/operation-fuzz.test.ts (see
// test/helpers/operation-fuzz.ts), against the real app: its own Postgres database on the
// machine's server, the Graph simulator over HTTP. Prints, per operation, the requests sent, how
// many were valid, mutated and arbitrary, the answers by status, and every violation (a 5xx, a
// 4xx that is not problem+json, a validation error naming no field). Asserts nothing; exits 1
// when there was a violation, so a run can gate on it.
// Run: npm run bench:fuzz (FUZZ_RUNS, FUZZ_SEED and FUZZ_ONLY=operationId,... to narrow it).
import fc from 'fast-check'
import { build } from '../test/helper.js'
import { ALL_ROLES, FUZZ_ENV, newTally, operationsOf, send } from '../test/helpers/operation-fuzz.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)
const SEED = Number(process.env.FUZZ_SEED ?? 20261201)
const ONLY = process.env.FUZZ_ONLY?.split(',').filter(Boolean)

/** A fresh app (own database, own simulator) per operation: one operation's rows do not slow
 *  the next one's exports and verifications, and each line stands on its own. */
async function freshApp(cleanups: (() => unknown)[]) {
  const { app, token } = await build({ teardown: (fn) => cleanups.push(fn) }, FUZZ_ENV)
  return { app, operations: operationsOf(app, await token(ALL_ROLES, { name: 'Fuzz Bench' })) }
}

async function closeAll(cleanups: (() => unknown)[]) {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}

const started = Date.now()
let violations = 0
const listing: (() => unknown)[] = []
const names = (await freshApp(listing)).operations.map((operation) => operation.operationId)
  .filter((name) => !ONLY || ONLY.includes(name))
await closeAll(listing)
console.log(`${names.length} operations, ${RUNS} requests each, seed ${SEED}, a fresh app and database per operation`)
console.log('| operation | requests | valid / mutated / arbitrary | answers by status | 5xx | violations | s |')
console.log('|---|---|---|---|---|---|---|')
for (const name of names) {
  const cleanups: (() => unknown)[] = []
  try {
    const { app, operations } = await freshApp(cleanups)
    const operation = operations.find((candidate) => candidate.operationId === name)!
    const tally = newTally()
    const operationStarted = Date.now()
    // Deterministic per operation: the same seed gives the same requests, run after run.
    for (const request of fc.sample(operation.request, { numRuns: RUNS, seed: SEED })) await send(app, request, tally)
    const serverErrors = Object.entries(tally.byStatus).filter(([status]) => Number(status) >= 500).reduce((sum, [, n]) => sum + n, 0)
    violations += tally.violations.length
    const statuses = Object.entries(tally.byStatus).map(([status, n]) => `${status}: ${n}`).join(', ')
    const kinds = ['valid', 'mutated', 'arbitrary'].map((kind) => tally.byKind[kind] ?? 0).join(' / ')
    console.log(`| ${operation.operationId} | ${tally.runs} | ${kinds} | ${statuses} | ${serverErrors} | ${tally.violations.length} | ${((Date.now() - operationStarted) / 1000).toFixed(1)} |`)
    for (const violation of tally.violations.slice(0, 5)) console.log(`  violation: ${violation}`)
  } finally {
    await closeAll(cleanups)
  }
}
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s, ${violations} violations`)
process.exitCode = violations > 0 ? 1 : 0
