// The sandbox's embedded database on a worker thread of its own (./embedded-postgres-worker.ts):
// opening PGlite (compiling its WASM, starting Postgres) and checking the migrations then run
// beside the main thread's loading of the app instead of after it, and on a busy machine a
// second thread gets a second share of the cores. Connections reach it over its loopback port
// as before. The thread can be stopped mid-start, so the start's timeout really stops it.
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres.js'

/** Its lock file in the data folder (kept here: this module must not load PGlite). */
export const EMBEDDED_LOCK_FILE = 'guestgate-embedded.lock'

export class EmbeddedPostgresTimeoutError extends Error {
  override readonly name = 'EmbeddedPostgresTimeoutError'
  constructor(readonly dataDir: string, readonly timeoutMs: number, readonly creating: boolean) {
    super(`embedded Postgres did not ${creating ? 'create its database' : 'start'} in ${dataDir} within ${Math.round(timeoutMs / 1000)} s`)
  }
}

/** What failed in the thread: opening the database, or migrating it. */
export class EmbeddedPostgresThreadError extends Error {
  override readonly name = 'EmbeddedPostgresThreadError'
  constructor(readonly stage: 'start' | 'migrate', message: string) {
    super(message)
  }
}

export interface EmbeddedThreadData {
  dataDir: string
  templateCacheDir?: string | null
  progressEveryMs?: number
  migrate: boolean
}

export type FromEmbeddedThread =
  | { type: 'progress'; message: string; details: { dataDir: string; elapsedMs: number; creating: boolean } }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'ready'; connectionString: string; created: boolean }
  | { type: 'failed'; stage: 'start' | 'migrate'; message: string }
  | { type: 'stopped'; error?: string }

export type ToEmbeddedThread = { type: 'stop' }

export interface EmbeddedThreadOptions extends Pick<EmbeddedPostgresOptions, 'dataDir' | 'templateCacheDir' | 'progressEveryMs' | 'onProgress'> {
  /** Apply the pending migrations before answering (what a start needs). */
  migrate: boolean
  /** Stop the thread and give up after this long. */
  timeoutMs?: number
  /** Migration messages; an error when the thread stops while it serves. */
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void
}

// The worker's file beside this one: .js in dist/, .ts when the sources run through tsx.
const WORKER = new URL(`./embedded-postgres-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

/**
 * The process's `--import` preloads, as URLs, tsx's aside. Node runs them on the main thread
 * only; the worker runs them first, so that the loaders this process started with (a test's
 * stand-in for PGlite, say) load its modules too.
 */
function preloads(): string[] {
  const urls: string[] = []
  const args = process.execArgv
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const specifier = arg.startsWith('--import=') ? arg.slice('--import='.length) : arg === '--import' ? args[++i] : undefined
    if (specifier === undefined || specifier === 'tsx') continue
    // As Node resolves them: a path against the working directory, else a URL or a package.
    urls.push(/^[./]/.test(specifier) ? pathToFileURL(resolve(specifier)).href : specifier.startsWith('file:') ? specifier : import.meta.resolve(specifier))
  }
  return urls
}

// Node 22's compile cache is per thread: the worker turns it on before it loads PGlite.
const COMPILE_CACHE = new URL(`../startup/compile-cache${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

function startWorker(workerData: EmbeddedThreadData): Worker {
  // The sources run through tsx (development, tests): the worker registers it through its API
  // (importing 'tsx' in a worker does not hook that worker's imports).
  const tsx = WORKER.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined
  const first = preloads()
  const bootstrap = '(async () => {' +
    (tsx ? ` (await import(${JSON.stringify(tsx)})).register();` : '') +
    ` (await import(${JSON.stringify(COMPILE_CACHE.href)})).enableCompileCache();` +
    ` for (const url of ${JSON.stringify(first)}) await import(url);` +
    ` await import(${JSON.stringify(WORKER.href)}) })()`
  return new Worker(bootstrap, { eval: true, workerData })
}

/** Starts the embedded database on its own thread; resolves once it serves (and is migrated, if asked). */
export function startEmbeddedPostgresThread(options: EmbeddedThreadOptions): Promise<EmbeddedPostgres> {
  const data: EmbeddedThreadData = { dataDir: options.dataDir, templateCacheDir: options.templateCacheDir, progressEveryMs: options.progressEveryMs, migrate: options.migrate }
  const worker = startWorker(data)
  // For the timeout's message, which may come before the thread has said anything.
  const creating = !existsSync(join(options.dataDir, 'pgdata', 'PG_VERSION'))
  return new Promise<EmbeddedPostgres>((resolve, reject) => {
    let settled = false
    let timedOut = false
    const settle = (result: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      result()
    }
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      const error = new EmbeddedPostgresTimeoutError(options.dataDir, options.timeoutMs!, creating)
      timedOut = true
      // PGlite cannot be interrupted inside its thread; the thread can be stopped. Its lock names
      // this process, which lives on: release it.
      void worker.terminate().then(() => rm(join(options.dataDir, EMBEDDED_LOCK_FILE), { force: true }))
        .finally(() => settle(() => reject(error)))
    }, options.timeoutMs)
    let stopped: Promise<void> | undefined
    worker.on('message', (message: FromEmbeddedThread) => {
      switch (message.type) {
        case 'progress':
          options.onProgress?.(message.message, message.details)
          break
        case 'log':
          options.onLog?.(message.level, message.message)
          break
        case 'failed':
          settle(() => reject(new EmbeddedPostgresThreadError(message.stage, message.message)))
          break
        case 'ready':
          settle(() => resolve({
            connectionString: message.connectionString,
            created: message.created,
            stop: () => (stopped ??= new Promise<void>((resolveStop, rejectStop) => {
              worker.once('message', (reply: FromEmbeddedThread) => {
                if (reply.type === 'stopped' && reply.error) rejectStop(new Error(reply.error))
                else resolveStop()
              })
              worker.once('exit', () => resolveStop())
              worker.postMessage({ type: 'stop' } satisfies ToEmbeddedThread)
            })),
          }))
          break
      }
    })
    worker.once('error', (error) => {
      if (settled) options.onLog?.('error', `the embedded database's thread failed: ${error.message}`)
      else settle(() => reject(new EmbeddedPostgresThreadError('start', error.message)))
    })
    worker.once('exit', (code) => {
      // While it serves, only stop() ends it: anything else leaves the app without its database.
      if (settled && !stopped && !timedOut) options.onLog?.('error', `the embedded database's thread stopped (code ${code}): requests answer 503 until a restart`)
      if (!timedOut) settle(() => reject(new EmbeddedPostgresThreadError('start', `its thread exited (code ${code}) before it served`)))
    })
  })
}
