// The expiry scheduler under a test clock: move the clock, queue a sweep and wait for that
// sweep's report (no sleeps).
import type { FastifyInstance } from 'fastify'
import type { SweepReport } from '../../../src/plugins/expiry.js'

export const DAY = 86_400_000
export const HOUR = 3_600_000
export const START = Date.parse('2026-12-02T08:00:00Z')
export const iso = (ms: number) => new Date(ms).toISOString()

/** A clock for buildApp's expiry option, and `sweepAt(ms)` once the app is built. */
export function testClock(start = START) {
  let now = start
  return {
    clock: () => new Date(now),
    now: () => now,
    sweeper: (app: FastifyInstance) => async (at: number): Promise<SweepReport> => {
      now = at
      const reports: SweepReport[] = []
      let wake = () => {}
      const listener = (report: SweepReport) => { reports.push(report); wake() }
      app.expiry.events.on('swept', listener)
      try {
        const jobId = await app.expiry.sweepNow()
        for (;;) {
          const mine = reports.find((r) => r.jobId === jobId)
          if (mine) return mine
          await new Promise<void>((resolve) => { wake = resolve })
        }
      } finally {
        app.expiry.events.off('swept', listener)
      }
    },
  }
}
