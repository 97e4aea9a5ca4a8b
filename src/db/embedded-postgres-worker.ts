// The worker thread of src/db/embedded-postgres-thread.ts: opens (or creates) the embedded
// database, brings its schema up to date, serves it on a loopback port, and closes it when told.
import { parentPort, workerData } from 'node:worker_threads'
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js'
import { applyMigrations } from './migrate.js'
import type { EmbeddedThreadData, FromEmbeddedThread, ToEmbeddedThread } from './embedded-postgres-thread.js'

const port = parentPort!
const data = workerData as EmbeddedThreadData
const post = (message: FromEmbeddedThread) => port.postMessage(message)
const failed = (stage: 'start' | 'migrate', error: unknown) => post({ type: 'failed', stage, message: (error as Error).message ?? String(error) })

let embedded: EmbeddedPostgres | undefined
try {
  embedded = await startEmbeddedPostgres({
    dataDir: data.dataDir,
    templateCacheDir: data.templateCacheDir,
    progressEveryMs: data.progressEveryMs,
    onProgress: (message, details) => post({ type: 'progress', message, details }),
  })
} catch (error) {
  failed('start', error)
}
if (embedded && data.migrate) {
  try {
    await applyMigrations(embedded.connectionString, { logger: { info: (message) => post({ type: 'log', level: 'info', message }), warn: (message) => post({ type: 'log', level: 'warn', message }) } })
  } catch (error) {
    failed('migrate', error)
    await embedded.stop()
    embedded = undefined
  }
}
if (embedded) {
  const running = embedded
  port.on('message', (message: ToEmbeddedThread) => {
    if (message.type !== 'stop') return
    void running.stop().then(() => post({ type: 'stopped' }), (error: unknown) => post({ type: 'stopped', error: (error as Error).message }))
      .finally(() => port.close())
  })
  post({ type: 'ready', connectionString: running.connectionString, created: running.created })
} else {
  port.close()
}
