// Cursors are opaque to callers: Graph's page token plus the filters it belongs to, so a cursor
// replayed with other filters is refused instead of silently mixing result sets.
import { badRequest } from '../errors.js'
import { InvalidPageTokenError, type Page } from '../graph/graph-gateway.js'

export function encodeCursor(pageToken: string | undefined, filters: Record<string, unknown>): string | undefined {
  return pageToken === undefined ? undefined : Buffer.from(JSON.stringify({ p: pageToken, f: filters })).toString('base64url')
}

/** One page of a Graph list behind our own cursor. */
export async function readPage<T>(cursor: string | undefined, filters: Record<string, unknown>,
  load: (pageToken: string | undefined) => Promise<Page<T>>): Promise<{ items: T[]; nextCursor?: string }> {
  const page = await load(decodeCursor(cursor, filters)).catch((error: unknown) => {
    if (error instanceof InvalidPageTokenError) throw invalidCursor()
    throw error
  })
  const nextCursor = encodeCursor(page.nextPageToken, filters)
  return { items: page.items, ...(nextCursor ? { nextCursor } : {}) }
}

export function decodeCursor(cursor: string | undefined, filters: Record<string, unknown>): string | undefined {
  if (cursor === undefined) return undefined
  let parsed: { p?: unknown; f?: unknown }
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor()
  }
  if (typeof parsed.p !== 'string' || JSON.stringify(parsed.f) !== JSON.stringify(filters)) {
    throw badRequest('query/cursor: belongs to a different query; repeat the filters it was issued with',
      [{ field: 'query/cursor', message: 'belongs to a different query (filters or limit changed)' }])
  }
  return parsed.p
}

function invalidCursor() {
  return badRequest('query/cursor: is not a cursor this API returned', [{ field: 'query/cursor', message: 'is not a cursor this API returned' }])
}
