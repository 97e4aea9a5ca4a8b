import t from 'tap'
import { parseRetryAfterMs } from '../../src/graph/retry-after.js'

t.test('delta-seconds, whole or decimal', async (t) => {
  t.equal(parseRetryAfterMs('2'), 2000)
  t.equal(parseRetryAfterMs('0.05'), 50)
  t.equal(parseRetryAfterMs(' 1.5 '), 1500)
  t.equal(parseRetryAfterMs('0'), 0)
})

t.test('HTTP-date, relative to now', async (t) => {
  const now = Date.parse('2025-01-01T00:00:00Z')
  t.equal(parseRetryAfterMs('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000)
  t.equal(parseRetryAfterMs('Tue, 31 Dec 2024 23:59:00 GMT', now), 0, 'a date in the past means now')
})

t.test('absent or unreadable', async (t) => {
  t.equal(parseRetryAfterMs(null), undefined)
  t.equal(parseRetryAfterMs(undefined), undefined)
  t.equal(parseRetryAfterMs(''), undefined)
  t.equal(parseRetryAfterMs('-1'), undefined)
  t.equal(parseRetryAfterMs('soon'), undefined)
})
