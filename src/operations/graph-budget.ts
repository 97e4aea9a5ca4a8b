// guestgate paces its own Graph writes below Microsoft's limits (3,000 writes per 150 s per app and
// tenant: https://learn.microsoft.com/en-us/graph/throttling-limits), and invitations more slowly
// still (bursts of invitations have got directories blocked for "suspicious activity"). One token
// bucket per tenant and kind, in Postgres, so every replica and every bulk job draws on the same
// budget as single requests. A 429 pauses the bucket for its Retry-After and halves its rate; the
// rate then grows back linearly (additive increase, multiplicative decrease).
import type { PrismaClient } from '../db/prisma-client.js'

export type BudgetKind = 'writes' | 'invitations'

export interface BucketSettings {
  /** Tokens per second when all is well. */
  ratePerSecond: number
  /** Most tokens saved up while idle. */
  burst: number
}

export interface GraphBudgetOptions {
  prisma: PrismaClient
  buckets: Record<BudgetKind, BucketSettings>
  /** Seconds for a halved rate to grow back to full. */
  recoverySeconds?: number
  /** The clock (tests pass their own). */
  now?: () => Date
  sleep?: (ms: number) => Promise<void>
}

/** No token within the wait the caller allowed. */
export class BudgetExhaustedError extends Error {
  override readonly name = 'BudgetExhaustedError'
  constructor(readonly kind: BudgetKind, readonly retryAfterSeconds: number) {
    super(`the Graph ${kind} budget has no token for ${retryAfterSeconds} s`)
  }
}

interface BucketRow {
  tokens: number
  rate: number
  updated_at: Date
  paused_until: Date
}

export interface BudgetState {
  tokens: number
  rate: number
  pausedUntil: string | null
}

const sleeper = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class GraphBudget {
  readonly #prisma: PrismaClient
  readonly #buckets: Record<BudgetKind, BucketSettings>
  readonly #recoverySeconds: number
  readonly #now: () => Date
  readonly #sleep: (ms: number) => Promise<void>
  readonly #known = new Set<string>()
  /** Per bucket: when the next waiter of this process may look for a token. */
  readonly #nextTurn = new Map<string, number>()

  constructor(options: GraphBudgetOptions) {
    this.#prisma = options.prisma
    this.#buckets = options.buckets
    this.#recoverySeconds = options.recoverySeconds ?? 60
    this.#now = options.now ?? (() => new Date())
    this.#sleep = options.sleep ?? sleeper
  }

  settings(kind: BudgetKind): BucketSettings {
    return this.#buckets[kind]
  }

  /** Takes one token of each kind, waiting up to `maxWaitMs` in all; BudgetExhaustedError past it. */
  async take(tenantId: string, kinds: BudgetKind[], maxWaitMs: number): Promise<void> {
    const deadline = this.#now().getTime() + maxWaitMs
    for (const kind of kinds) {
      const bucket = bucketKey(tenantId, kind)
      for (;;) {
        const { waitMs, intervalMs } = await this.#tryTake(tenantId, kind)
        if (waitMs === 0) break
        // This process's waiters take turns, one token apart: each wakes when a token may be
        // there for it, so a token costs one query, not one per waiter (a bulk job has many).
        const now = this.#now().getTime()
        const at = Math.max(now + waitMs, this.#nextTurn.get(bucket) ?? 0)
        if (at - now > deadline - now) throw new BudgetExhaustedError(kind, Math.max(1, Math.ceil((at - now) / 1000)))
        this.#nextTurn.set(bucket, at + intervalMs)
        await this.#sleep(at - now)
      }
    }
  }

  /** Graph answered 429: pause every bucket of the tenant for Retry-After and halve its rate. */
  async throttled(tenantId: string, retryAfterSeconds: number): Promise<void> {
    const now = this.#now()
    const until = new Date(now.getTime() + Math.max(0, retryAfterSeconds) * 1000)
    for (const kind of Object.keys(this.#buckets) as BudgetKind[]) {
      const settings = this.#buckets[kind]
      await this.#ensure(tenantId, kind)
      // The current rate (grown back since the last change) is halved, never below a tenth.
      await this.#prisma.$executeRaw`
        UPDATE graph_write_budgets SET
          rate = greatest(${settings.ratePerSecond / 10}::float8,
            least(${settings.ratePerSecond}::float8, rate + ${settings.ratePerSecond / this.#recoverySeconds}::float8
              * greatest(0, extract(epoch FROM ${now}::timestamptz - updated_at))) / 2),
          tokens = least(tokens, 0),
          paused_until = greatest(paused_until, ${until}::timestamptz),
          updated_at = ${now}::timestamptz
        WHERE bucket = ${bucketKey(tenantId, kind)}`
    }
  }

  async state(tenantId: string, kind: BudgetKind): Promise<BudgetState> {
    const row = await this.#prisma.graphWriteBudget.findUnique({ where: { bucket: bucketKey(tenantId, kind) } })
    if (!row) return { tokens: this.#buckets[kind].burst, rate: this.#buckets[kind].ratePerSecond, pausedUntil: null }
    return { tokens: row.tokens, rate: row.rate, pausedUntil: row.pausedUntil > this.#now() ? row.pausedUntil.toISOString() : null }
  }

  async #ensure(tenantId: string, kind: BudgetKind): Promise<void> {
    const bucket = bucketKey(tenantId, kind)
    if (this.#known.has(bucket)) return
    const { ratePerSecond, burst } = this.#buckets[kind]
    await this.#prisma.graphWriteBudget.createMany({
      data: [{ bucket, tokens: burst, rate: ratePerSecond, updatedAt: this.#now(), pausedUntil: new Date(0) }],
      skipDuplicates: true,
    })
    this.#known.add(bucket)
  }

  /** waitMs 0 when a token was taken, else how long until one may be there; intervalMs: a
   *  token's time at the bucket's current rate. */
  async #tryTake(tenantId: string, kind: BudgetKind): Promise<{ waitMs: number; intervalMs: number }> {
    await this.#ensure(tenantId, kind)
    const { ratePerSecond: max, burst } = this.#buckets[kind]
    const recovery = max / this.#recoverySeconds
    const now = this.#now()
    // Refill and take in one statement, so replicas never spend the same token (Prisma's model API
    // cannot express a conditional update computed from the row itself). The rate grows back by
    // `recovery` per second; tokens refill at the rate, up to the burst.
    const rows = await this.#prisma.$queryRaw<BucketRow[]>`
      WITH b AS (
        SELECT bucket, paused_until,
          least(${max}::float8, rate + ${recovery}::float8 * greatest(0, extract(epoch FROM ${now}::timestamptz - updated_at))) AS rate,
          least(${burst}::float8, tokens + rate * greatest(0, extract(epoch FROM ${now}::timestamptz - greatest(updated_at, paused_until)))) AS tokens
        FROM graph_write_budgets WHERE bucket = ${bucketKey(tenantId, kind)} FOR UPDATE
      ), taken AS (
        UPDATE graph_write_budgets g SET tokens = b.tokens - 1, rate = b.rate, updated_at = ${now}::timestamptz
        FROM b WHERE g.bucket = b.bucket AND b.paused_until <= ${now}::timestamptz AND b.tokens >= 1
        RETURNING g.tokens
      )
      SELECT b.tokens, b.rate, b.paused_until, (SELECT count(*) FROM taken)::int AS taken FROM b`
    const row = rows[0] as (BucketRow & { taken: number }) | undefined
    if (!row || row.taken === 1) return { waitMs: 0, intervalMs: 0 }
    const rate = Math.max(row.rate, 1e-6)
    const pausedMs = Math.max(0, row.paused_until.getTime() - now.getTime())
    const refillMs = ((1 - Math.max(row.tokens, 0)) / rate) * 1000
    return { waitMs: Math.ceil(pausedMs + Math.max(refillMs, 1)), intervalMs: Math.ceil(1000 / rate) }
  }
}

const bucketKey = (tenantId: string, kind: BudgetKind) => `${tenantId.toLowerCase()}:${kind}`
