// Names and kinds of the applications and groups the policy lists, read from Graph for
// GET /v1/me/permissions: a portal asks on every page load, and the answer changes only with
// the directory (rarely) or the policy. Kept for a short while (GUESTGATE_DIRECTORY_CACHE_SECONDS),
// keyed by tenant and policy version, so a reloaded policy reads Graph afresh. Policy decisions
// never use this cache: they read the target from Graph each time.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { LRUCache } from 'lru-cache'
import { GraphRequestError, type DirectoryGroup, type ServicePrincipal } from '../graph/graph-gateway.js'
import type { Caller } from '../operations/caller.js'
import { identityOf } from '../routes/request-identity.js'

/** What Graph said about an object: null when it does not exist. */
interface Entry { value: ServicePrincipal | DirectoryGroup | null }

export interface DirectoryCache {
  /** The enterprise application (service principal), or null when Graph has none with this id. */
  servicePrincipal(caller: Caller, id: string): Promise<ServicePrincipal | null>
  /** The group, or null when Graph has none with this id. */
  group(caller: Caller, id: string): Promise<DirectoryGroup | null>
  /** What the cache holds for the application now, without reading Graph: undefined when it is not cached (or no longer fresh). */
  cachedServicePrincipal(caller: Caller, id: string): Cached<ServicePrincipal> | undefined
  /** The same for a group. */
  cachedGroup(caller: Caller, id: string): Cached<DirectoryGroup> | undefined
}

export interface Cached<T> {
  value: T | null
  /** Until when (performance.now()) the cache answers this value without reading Graph again. */
  freshUntil: number
}

declare module 'fastify' {
  interface FastifyInstance {
    directoryCache: DirectoryCache
  }
}

const orNullWhenMissing = <T>(read: Promise<T>): Promise<T | null> =>
  read.catch((error: unknown) => {
    if (error instanceof GraphRequestError && error.status === 404) return null
    throw error
  })

export default fp(async function directoryCache(app: FastifyInstance) {
  const ttl = app.config.directoryCacheMs
  // fetch() runs one Graph read per key however many callers ask at once; failures are not kept.
  const cache = new LRUCache<string, Entry, () => Promise<Entry['value']>>({
    max: 2000,
    ttl: Math.max(ttl, 1),
    fetchMethod: async (_key, _stale, { context }) => ({ value: await context() }),
  })

  const keyOf = (caller: Caller, kind: string, id: string) =>
    `${caller.authenticatedPrincipal().tenantId} ${app.policies.current().version} ${kind} ${id}`.toLowerCase()

  async function cached<T extends Entry['value']>(caller: Caller, kind: string, id: string, read: () => Promise<T>): Promise<T> {
    if (ttl === 0) return read()
    const entry = await cache.fetch(keyOf(caller, kind, id), { context: read })
    return entry!.value as T
  }
  // A fresh entry only: get() answers undefined for a missing, stale or still-loading one.
  function peek<T>(caller: Caller, kind: string, id: string): Cached<T> | undefined {
    if (ttl === 0) return undefined
    const key = keyOf(caller, kind, id)
    const entry = cache.get(key)
    return entry && { value: entry.value as T | null, freshUntil: performance.now() + cache.getRemainingTTL(key) }
  }

  app.decorate('directoryCache', {
    servicePrincipal: (caller, id) => cached(caller, 'servicePrincipal', id, () =>
      orNullWhenMissing(app.graphOps.read(identityOf(caller), (graph, ctx) => graph.getServicePrincipal(id, ctx)))),
    group: (caller, id) => cached(caller, 'group', id, () =>
      orNullWhenMissing(app.graphOps.read(identityOf(caller), (graph, ctx) => graph.getGroup(id, ctx)))),
    cachedServicePrincipal: (caller, id) => peek<ServicePrincipal>(caller, 'servicePrincipal', id),
    cachedGroup: (caller, id) => peek<DirectoryGroup>(caller, 'group', id),
  } satisfies DirectoryCache)
}, { name: 'directory-cache', dependencies: ['config', 'graph', 'authorization'] })
