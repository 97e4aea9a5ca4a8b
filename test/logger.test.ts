// Logs: JSON for machines, readable lines for a person at a terminal (LOG_FORMAT, auto by default).
import t from 'tap'
import { createLogger, usePrettyLogs } from '../src/logger.js'

t.test('auto: pretty only when standard output is a terminal', async (t) => {
  t.equal(usePrettyLogs({ logFormat: 'auto' }, { isTTY: true }), true)
  t.equal(usePrettyLogs({ logFormat: 'auto' }, { isTTY: false }), false)
  t.equal(usePrettyLogs({ logFormat: 'auto' }, {}), false)
  t.equal(usePrettyLogs({ logFormat: 'json' }, { isTTY: true }), false, 'json is json, even at a terminal')
  t.equal(usePrettyLogs({ logFormat: 'pretty' }, { isTTY: false }), true)
})

t.test('pretty lines are readable, JSON lines parse; neither shows an authorization header', async (t) => {
  for (const format of ['pretty', 'json'] as const) {
    const lines: string[] = []
    const logger = createLogger({ logLevel: 'info', logFormat: format }, { write: (line: string) => { lines.push(line) } })
    logger.info({ req: { headers: { authorization: 'Bearer secret-token' } }, policyVersion: 'v1' }, 'policy loaded')
    logger.flush()
    const text = lines.join('')
    t.match(text, /policy loaded/, `${format}: the message`)
    t.notMatch(text, /secret-token/, `${format}: no token`)
    if (format === 'json') t.equal((JSON.parse(text) as { msg: string }).msg, 'policy loaded')
    else t.throws(() => JSON.parse(text) as unknown, `${format}: not JSON`)
  }
})
