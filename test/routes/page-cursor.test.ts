import t from 'tap'
import { InvalidPageTokenError } from '../../src/graph/graph-gateway.js'
import { ProblemError } from '../../src/errors.js'
import { encodeCursor, readPage } from '../../src/routes/page-cursor.js'

t.test('a cursor whose page token the gateway refuses is a 400 on query/cursor, not a 500', async (t) => {
  const filters = { limit: 2 }
  const forged = encodeCursor('https://evil.example/v1.0/users?$skiptoken=x', filters)
  const error = await readPage(forged, filters, async () => {
    throw new InvalidPageTokenError('not a link to our Graph endpoint')
  }).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof ProblemError)
  t.match(error, { status: 400, extras: { errors: [{ field: 'query/cursor' }] } })
})
