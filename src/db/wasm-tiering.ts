import v8 from 'node:v8'

/**
 * Embedded Postgres is 9 MB of WASM: V8 compiles it with Liftoff, then recompiles whatever runs
 * hot with TurboFan on the other core, about 1.5 CPU-seconds during the start and the first
 * queries, for no measurable gain in the sandbox's steady state (PGlite's JS side dominates a
 * query). Call before any WASM module is compiled (Prisma's query compiler is WASM too); V8's
 * flags hold for the database's thread as well. The server does it in sandbox mode with the
 * embedded database; tests of that database do it too, to run it as the server does.
 */
export function compileWasmWithLiftoffOnly(): void {
  v8.setFlagsFromString('--liftoff-only')
}
