// Cursors are opaque to callers: Graph's page token plus the filters it belongs to, so a cursor
// replayed with other filters is refused instead of silently mixing result sets.
import { badRequest } from '../errors.js'
import { GraphRequestError, InvalidPageTokenError, type Page } from '../graph/graph-gateway.js'
import { isCleanText } from '../schemas/text.js'

export function encodeCursor(pageToken: string | undefined, filters: Record<string, unknown>): string | undefined {
  return pageToken === undefined ? undefined : Buffer.from(JSON.stringify({ p: pageToken, f: filters })).toString('base64url')
}

/** One page of a Graph list behind our own cursor. */
export async function readPage<T>(cursor: string | undefined, filters: Record<string, unknown>,
  load: (pageToken: string | undefined) => Promise<Page<T>>): Promise<{ items: T[]; nextCursor?: string }> {
  const pageToken = decodeCursor(cursor, filters)
  const page = await load(pageToken).catch((error: unknown) => {
    // A next link that is not Graph's own (another host or version) was never ours to follow.
    if (error instanceof InvalidPageTokenError) throw notOurCursor()
    // Graph's page tokens expire; one it no longer takes is the caller's cursor to renew.
    if (pageToken !== undefined && error instanceof GraphRequestError && error.status === 400) {
      throw badRequest('query/cursor: has expired or is no longer valid; start again from the first page',
        [{ field: 'query/cursor', message: 'has expired or is no longer valid' }])
    }
    throw error
  })
  const nextCursor = encodeCursor(page.nextPageToken, filters)
  return { items: page.items, ...(nextCursor ? { nextCursor } : {}) }
}

const notOurCursor = () =>
  badRequest('query/cursor: is not a cursor this API returned', [{ field: 'query/cursor', message: 'is not a cursor this API returned' }])

export function decodeCursor(cursor: string | undefined, filters: Record<string, unknown>): string | undefined {
  if (cursor === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw notOurCursor()
  }
  // Any JSON decodes (null, 3, "x", []): only the object this module wrote is a cursor.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw notOurCursor()
  const { p, f } = parsed as { p?: unknown; f?: unknown }
  if (typeof p !== 'string' || p.length === 0 || !isCleanText(p)) throw notOurCursor()
  if (JSON.stringify(f) !== JSON.stringify(filters)) {
    throw badRequest('query/cursor: belongs to a different query; repeat the filters it was issued with',
      [{ field: 'query/cursor', message: 'belongs to a different query (filters or limit changed)' }])
  }
  return p
}
