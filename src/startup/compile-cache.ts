// Node 22 can keep V8's compiled code for the modules a start loads, on disk, and reuse it at the
// next start: measured here, a warm sandbox start's CPU went from 1.94 to 1.82 CPU-seconds
// (bench/RESULTS.md). https://nodejs.org/api/module.html#module-compile-cache
// The cache lives in NODE_COMPILE_CACHE, else in the system's temporary folder
// (node-compile-cache); NODE_DISABLE_COMPILE_CACHE=1 turns it off. Entries are checked against
// the source and Node's version before use: a changed file is compiled again. Node 20 has no
// such API: there this does nothing.
import module from 'node:module'

interface CompileCacheApi {
  enableCompileCache?: (cacheDir?: string) => unknown
  flushCompileCache?: () => void
}
const api = module as unknown as CompileCacheApi

/** From here on, the modules this thread loads are looked up in the cache and added to it. */
export function enableCompileCache(): void {
  api.enableCompileCache?.()
}

/** Write what the start compiled now, not at exit: a process that is killed keeps it too. */
export function flushCompileCache(): void {
  api.flushCompileCache?.()
}
