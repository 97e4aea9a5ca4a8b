// Idempotency-Key on every authenticated POST, PUT and DELETE (IETF httpapi
// draft-ietf-httpapi-idempotency-key-header). Keys are kept in Postgres per caller, with the route,
// a fingerprint of the request and, once it ends, its response:
// - a key not seen before is claimed (in-progress, with a lease) and the request runs;
// - the same key and request again: the first response is replayed (header Idempotent-Replayed: true);
// - the same key with another request: 422; the first still running: 409 with Retry-After.
// A response that says "try again" (5xx, 429, 409) is not kept: the key is freed for the retry.
// The claim is taken before the handler, so a duplicate never reaches Graph.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { badRequest, databaseUnavailable, ProblemError } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's Idempotency-Key, when the request carries one. */
    idempotencyKey: string | null
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key'
/** Keys guestgate gives its own work (a bulk job's rows: operations/bulk-jobs.ts); no caller may send one. */
export const RESERVED_KEY_PREFIX = 'bulk:'
export const REPLAYED_HEADER = 'idempotent-replayed'

const MUTATING = new Set(['POST', 'PUT', 'DELETE'])
// A String (RFC 8941) as the draft says, "…" quoted; the bare form is accepted too.
const KEY = /^"?([\x21\x23-\x5B\x5D-\x7E]{1,255})"?$/
/** Response headers replayed with the body. */
const KEPT_HEADERS = ['content-type', 'location']

interface Claim {
  principal: string
  key: string
}

const claims = new WeakMap<FastifyRequest, Claim>()

/** Keys sorted at every depth, so two equal requests always hash the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]))
  }
  return value
}

function fingerprintOf(request: FastifyRequest): string {
  const request_ = { method: request.method, route: request.routeOptions.url, params: request.params, query: request.query, body: request.body ?? null }
  return createHash('sha256').update(JSON.stringify(canonical(request_))).digest('hex')
}

/** Worth keeping: the answer a retry should get again. Not: "try again" answers. */
const keeps = (status: number) => status < 500 && status !== 409 && status !== 429 && status !== 408 && status !== 425

export default fp(async function idempotency(app: FastifyInstance) {
  const { prisma, config } = app
  const ttlMs = config.idempotencyTtlHours * 3_600_000
  // A claim outlives any request that could still be running (two Graph calls and the database).
  const leaseMs = 2 * config.graphTimeoutMs + 2 * config.databaseQueryTimeoutMs + 10_000

  app.decorateRequest('idempotencyKey', null)

  // The header is part of every mutating operation's contract (and of the OpenAPI document).
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.some((m) => MUTATING.has(m)) || route.config?.public) return
    const schema = (route.schema ??= {}) as { headers?: { type?: string; properties?: Record<string, unknown> } }
    schema.headers = {
      type: 'object',
      ...schema.headers,
      properties: {
        ...schema.headers?.properties,
        [IDEMPOTENCY_HEADER]: {
          type: 'string', minLength: 1, maxLength: 257,
          description: 'A unique key (e.g. a UUID) for this request (IETF httpapi Idempotency-Key; keys starting with bulk: are reserved). Sent again with the same request, the first response is replayed (header Idempotent-Replayed: true) and nothing is done twice; with another request: 422; while the first still runs: 409 with Retry-After. Kept ' +
            `${config.idempotencyTtlHours} hours.`,
        },
      },
    }
    // Hooks of these routes only: reads and public routes pay nothing for idempotency.
    route.preHandler = [...[route.preHandler ?? []].flat(), claimKey]
    route.onSend = [...[route.onSend ?? []].flat(), keepResponse]
  })

  async function claim(request: FastifyRequest, reply: FastifyReply, key: string): Promise<FastifyReply | undefined> {
    const principal = request.authenticatedPrincipal()
    const id = { principal: `${principal.tenantId.toLowerCase()}/${principal.oid.toLowerCase()}`, key }
    const fingerprint = fingerprintOf(request)
    const route = request.routeOptions.url ?? request.url
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = Date.now()
      const { count } = await prisma.idempotencyKey.createMany({
        data: [{ ...id, method: request.method, route, fingerprint, state: 'in-progress', leaseUntil: new Date(now + leaseMs), expiresAt: new Date(now + ttlMs) }],
        skipDuplicates: true,
      })
      if (count === 1) {
        claims.set(request, id)
        return undefined
      }
      const existing = await prisma.idempotencyKey.findUnique({ where: { principal_key: id } })
      if (!existing) continue
      if (existing.expiresAt.getTime() <= now) {
        await prisma.idempotencyKey.deleteMany({ where: { ...id, expiresAt: { lte: new Date(now) } } })
        continue
      }
      if (existing.fingerprint !== fingerprint || existing.method !== request.method || existing.route !== route) {
        throw new ProblemError(422, 'idempotency_key_reused', 'Idempotency-Key reused',
          `This Idempotency-Key was first used for another request (${existing.method} ${existing.route} with other parameters or body). Use a new key for a new request.`,
          { errors: [{ field: `header/${IDEMPOTENCY_HEADER}`, message: 'was used for a different request' }] })
      }
      if (existing.state === 'completed') {
        const headers = (existing.responseHeaders ?? {}) as Record<string, string>
        return reply.code(existing.responseStatus ?? 200).headers({ ...headers, [REPLAYED_HEADER]: 'true' }).send(existing.responseBody ?? '')
      }
      // Still running, or its process died (lease over): then this request takes it over.
      if (existing.leaseUntil.getTime() <= now) {
        const taken = await prisma.idempotencyKey.updateMany({
          where: { ...id, state: 'in-progress', leaseUntil: { lte: new Date(now) } },
          data: { leaseUntil: new Date(now + leaseMs) },
        })
        if (taken.count === 1) {
          claims.set(request, id)
          return undefined
        }
      }
      throw new ProblemError(409, 'idempotency_key_in_use', 'Request with this key still running',
        'A request with this Idempotency-Key is still being processed. Retry after Retry-After to get its response.',
        { retryAfterSeconds: 1 }, { 'retry-after': '1' })
    }
    throw new ProblemError(409, 'idempotency_key_in_use', 'Request with this key still running',
      'The Idempotency-Key changed hands while it was being claimed. Retry after Retry-After.', { retryAfterSeconds: 1 }, { 'retry-after': '1' })
  }

  async function claimKey(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers[IDEMPOTENCY_HEADER]
    // A dry run changes nothing and has nothing to replay.
    if (header === undefined || !MUTATING.has(request.method) || request.routeOptions.config.public || request.dryRun) return
    const match = typeof header === 'string' ? KEY.exec(header) : null
    if (!match) {
      const message = 'must be 1 to 255 visible ASCII characters (a String, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324"), sent once'
      throw badRequest(`header/${IDEMPOTENCY_HEADER}: ${message}`, [{ field: `header/${IDEMPOTENCY_HEADER}`, message }])
    }
    const key = match[1]!
    if (key.toLowerCase().startsWith(RESERVED_KEY_PREFIX)) {
      const message = `must not start with "${RESERVED_KEY_PREFIX}": guestgate keys its bulk jobs' rows that way`
      throw badRequest(`header/${IDEMPOTENCY_HEADER}: ${message}`, [{ field: `header/${IDEMPOTENCY_HEADER}`, message }])
    }
    request.idempotencyKey = key
    try {
      return await claim(request, reply, key)
    } catch (error) {
      if (error instanceof ProblemError) throw error
      throw databaseUnavailable(error)
    }
  }

  // Keeps the response of a claimed request, or frees the key for a retry.
  async function keepResponse(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const id = claims.get(request)
    if (!id) return payload
    claims.delete(request)
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null
    try {
      if (keeps(reply.statusCode) && body !== null) {
        const headers = Object.fromEntries(KEPT_HEADERS.flatMap((name) => {
          const value = reply.getHeader(name)
          return value === undefined ? [] : [[name, String(value)]]
        }))
        await prisma.idempotencyKey.updateMany({
          where: { ...id, state: 'in-progress' },
          data: { state: 'completed', responseStatus: reply.statusCode, responseHeaders: headers, responseBody: body },
        })
      } else {
        await prisma.idempotencyKey.deleteMany({ where: { ...id, state: 'in-progress' } })
      }
    } catch (err) {
      // The answer goes out anyway; the claim stays until its lease ends, then a retry takes it over.
      request.log.error({ err, idempotencyKey: id.key }, 'the response of an Idempotency-Key could not be stored')
    }
    return payload
  }
}, { name: 'idempotency', dependencies: ['config', 'database', 'authentication'] })

/** Removes keys past their time (the reconciler's maintenance calls it). */
export async function pruneIdempotencyKeys(prisma: FastifyInstance['prisma'], now = new Date()): Promise<number> {
  const { count } = await prisma.idempotencyKey.deleteMany({ where: { expiresAt: { lt: now } } })
  return count
}
