// Faults that tests inject: they take precedence over normal handling for the requests they match.
// Most stand for Graph failing before it looks at the request; `afterApply` stands for the
// ambiguous case: Graph applied the write, but the caller never learns it (an error answer, or
// no answer at all).

/** After the request was handled successfully: answer this error instead, or never answer. */
export type AfterApplyFault = { status: 500 | 502 | 504 } | { hang: true }

export interface FaultSpec {
  /** Matches any method when absent (compared case-insensitively). */
  method?: string
  /** A string matches any request path (e.g. /v1.0/users/{id}) that contains it; a RegExp is tested against the path. */
  path: string | RegExp
  /** Answer with this status and Graph's error body. Absent or below 400: only delay, then handle normally. */
  status?: number
  code?: string
  message?: string
  /** Sent as the Retry-After header (seconds; Graph may send decimals). */
  retryAfter?: number | string
  /** How many matching requests the fault applies to: 1 by default, Infinity allowed. */
  times?: number
  /** Delay before answering. */
  latencyMs?: number
  /**
   * In-process tests only (not JSON): called when the request arrives; the request is handled
   * once the promise it returns settles. Lets a test order a request against other work exactly.
   */
  arrived?: () => Promise<unknown>
  /**
   * Handle the request normally first (the write is applied), then answer `status` with Graph's
   * error body instead of the success, or hold the request open without answering until the
   * client gives up or the simulator closes. A request that fails on its own answers its own error.
   */
  afterApply?: AfterApplyFault
}

interface ActiveFault extends FaultSpec {
  remaining: number
}

export class FaultStore {
  private active: ActiveFault[] = []

  inject(fault: FaultSpec): void {
    const times = fault.times ?? 1
    if (!(times > 0)) throw new RangeError(`times must be positive, got ${times}`)
    if (fault.afterApply && fault.status !== undefined) throw new RangeError('a fault has either status or afterApply, not both')
    this.active.push({ ...fault, remaining: times })
  }

  clear(): void {
    this.active = []
  }

  /** The first fault matching this request, used up once; undefined when none applies. */
  take(method: string, path: string): FaultSpec | undefined {
    const fault = this.active.find((candidate) => matches(candidate, method, path))
    if (!fault) return undefined
    fault.remaining -= 1
    if (fault.remaining <= 0) this.active = this.active.filter((candidate) => candidate !== fault)
    return fault
  }
}

function matches(fault: FaultSpec, method: string, path: string): boolean {
  if (fault.method !== undefined && fault.method.toUpperCase() !== method.toUpperCase()) return false
  if (typeof fault.path === 'string') return path.includes(fault.path)
  // A global RegExp remembers where it last matched: start over for every request.
  fault.path.lastIndex = 0
  return fault.path.test(path)
}
