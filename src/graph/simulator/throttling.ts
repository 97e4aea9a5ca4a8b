// Graph's documented limits for the identity and access service, in a mode tests turn on
// (POST /_simulator/throttling): off by default, and scaled down so a test reaches them with a
// handful of requests. https://learn.microsoft.com/en-us/graph/throttling-limits
// ("Identity and access service limits"; graph-lifecycle-facts.md §5):
// - writes (POST, PATCH, PUT, DELETE): 3,000 per 2 min 30 s per application and tenant,
//   35,000 per 5 min per application across tenants, 18,000 per 5 min per tenant (all apps);
// - reading signInActivity: 10 requests per minute per application and tenant.
// Graph describes a token bucket; a sliding window over the same period is the strictest
// reading of "N requests per period" and tells exactly when a slot frees up, which is what
// Retry-After says (in seconds, with a fraction, as Graph's example 2.128 does:
// https://learn.microsoft.com/en-us/graph/throttling). The 429 carries Graph's headers
// x-ms-throttle-scope (Scope/Limit/ApplicationId/TenantId) and x-ms-throttle-information.

export interface ThrottlingSettings {
  /** Multiplies every documented count (0 < scale <= 1); at least 1 request stays allowed. */
  scale: number
  /** Multiplies every documented period (default 1: Graph's own), so tests need not wait minutes. */
  windowScale?: number
}

export interface Throttled {
  /** Seconds until the window has room again. */
  retryAfterSeconds: number
  /** x-ms-throttle-scope */
  scope: string
  /** x-ms-throttle-information */
  information: 'WriteLimitExceeded' | 'ResourceUnitLimitExceeded'
}

interface Limit {
  scope: 'Tenant_Application' | 'Application' | 'Tenant'
  kind: 'Write' | 'Read'
  count: number
  periodMs: number
}

const WRITE_LIMITS: readonly Limit[] = [
  { scope: 'Tenant_Application', kind: 'Write', count: 3_000, periodMs: 150_000 },
  { scope: 'Application', kind: 'Write', count: 35_000, periodMs: 300_000 },
  { scope: 'Tenant', kind: 'Write', count: 18_000, periodMs: 300_000 },
]

const SIGN_IN_ACTIVITY_LIMITS: readonly Limit[] = [
  { scope: 'Tenant_Application', kind: 'Read', count: 10, periodMs: 60_000 },
]

export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PATCH', 'PUT', 'DELETE'])

export class Throttle {
  /** scope key -> times (ms) of the requests admitted within the period */
  private readonly windows = new Map<string, number[]>()

  constructor(
    private readonly settings: ThrottlingSettings,
    private readonly tenantId: string,
  ) {
    if (!(settings.scale > 0 && settings.scale <= 1)) throw new RangeError(`scale must be in (0, 1], got ${settings.scale}`)
    if (settings.windowScale !== undefined && !(settings.windowScale > 0 && settings.windowScale <= 1)) {
      throw new RangeError(`windowScale must be in (0, 1], got ${settings.windowScale}`)
    }
  }

  /** A write by this app: counted and undefined when every window has room, else why not (not counted). */
  admitWrite(appId: string, now: number = Date.now()): Throttled | undefined {
    return this.admit(WRITE_LIMITS, appId, now)
  }

  /** A read of signInActivity by this app, under its own, much lower limit. */
  admitSignInActivityRead(appId: string, now: number = Date.now()): Throttled | undefined {
    return this.admit(SIGN_IN_ACTIVITY_LIMITS, appId, now)
  }

  private admit(limits: readonly Limit[], appId: string, now: number): Throttled | undefined {
    const windows = limits.map((limit) => {
      const key = `${limit.scope}/${limit.kind}/${limit.scope === 'Tenant' ? '' : appId}/${limit.scope === 'Application' ? '' : this.tenantId}`
      const periodMs = limit.periodMs * (this.settings.windowScale ?? 1)
      const times = (this.windows.get(key) ?? []).filter((time) => time > now - periodMs)
      this.windows.set(key, times)
      return { limit, key, periodMs, times, count: Math.max(1, Math.floor(limit.count * this.settings.scale)) }
    })
    const full = windows.filter((window) => window.times.length >= window.count)
    if (full.length === 0) {
      for (const window of windows) window.times.push(now)
      return undefined
    }
    // The window that frees up last decides when the request may come back.
    const waits = full.map((window) => ({ window, ms: (window.times[window.times.length - window.count] as number) + window.periodMs - now }))
    const longest = waits.reduce((a, b) => (b.ms > a.ms ? b : a))
    return {
      retryAfterSeconds: Math.max(0.001, Math.ceil(longest.ms) / 1000),
      scope: `${longest.window.limit.scope}/${longest.window.limit.kind}/${appId}/${this.tenantId}`,
      information: longest.window.limit.kind === 'Write' ? 'WriteLimitExceeded' : 'ResourceUnitLimitExceeded',
    }
  }
}
