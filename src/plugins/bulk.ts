// Bulk invitation rows on the job queue: GUESTGATE_BULK_CONCURRENCY workers per process, each
// running one row at a time (operations/bulk-jobs.ts). A row whose process died is handed out
// again by the queue after GUESTGATE_BULK_ROW_TIMEOUT_SECONDS and resumed without repeating
// its writes. Progress of a job is told to whoever listens in this process (the SSE stream).
import { EventEmitter } from 'node:events'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { BULK_ROW_QUEUE, runBulkRow, type BulkRowJob } from '../operations/bulk-jobs.js'
import { wakeableWorkers } from './queue.js'

export interface BulkRunner {
  /** Workers waiting for their next poll look now (rows were queued or one finished). */
  wake(): void
  /** A row of the job changed state. */
  progress(jobId: string): void
  /** Listens to a job's progress; returns the function that stops listening. */
  onProgress(jobId: string, listener: () => void): () => void
}

declare module 'fastify' {
  interface FastifyInstance {
    bulk: BulkRunner
  }
}

export default fp(async function bulk(app: FastifyInstance) {
  const emitter = new EventEmitter()
  // One listener per open progress stream.
  emitter.setMaxListeners(0)
  // Set once the workers run; rows sent before that are picked up by their first poll.
  const rowWorkers = { wake: () => {} }
  app.decorate('bulk', {
    wake() {
      rowWorkers.wake()
    },
    progress(jobId) {
      emitter.emit(jobId)
    },
    onProgress(jobId, listener) {
      emitter.on(jobId, listener)
      return () => { emitter.off(jobId, listener) }
    },
  } satisfies BulkRunner)

  const { concurrency, rowTimeoutSeconds } = app.config.bulk
  // Transient failures (database, Graph busy, budget wait spent) are retried with backoff.
  await app.queue.createQueue(BULK_ROW_QUEUE, {
    name: BULK_ROW_QUEUE, retryLimit: 10, retryDelay: 2, retryBackoff: true, expireInSeconds: rowTimeoutSeconds,
  })
  // Rows submitted here wake the workers and a finished row starts the next at once (the budget,
  // not the poll, sets the pace): the poll is for rows another replica submitted and for retries.
  rowWorkers.wake = (await wakeableWorkers<BulkRowJob>(app.queue, BULK_ROW_QUEUE, { count: concurrency, pollingIntervalSeconds: app.config.queuePollSeconds }, async (job) => {
    await runBulkRow(app, job.data, { retryCount: job.retryCount, retryLimit: job.retryLimit })
  })).wake
  app.addHook('preClose', async () => {
    // No new row starts while the app closes; rows under way finish (the queue waits for them).
    await app.queue.offWork(BULK_ROW_QUEUE)
  })
}, { name: 'bulk', dependencies: ['config', 'database', 'queue', 'graph', 'authorization'] })
