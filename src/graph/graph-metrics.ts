// Graph calls in /metrics: every gateway call by operation (the gateway method) and the status
// Graph answered (0: no answer), with durations, and the retries the middleware made (429 and
// 503/504 on reads). Wrapping the gateway counts every path, whichever code built it; planned
// calls of a dry run never reach Graph and are not counted.
import { Counter, Histogram, type Registry } from 'prom-client'
import { GraphRequestError } from './graph-errors.js'
import type { GraphCallContext, GraphGateway } from './graph-gateway.js'
import type { RetryInfo } from './graph-middleware.js'

export interface GraphMetrics {
  /** Wraps a gateway so that each call is counted. */
  instrument(gateway: GraphGateway): GraphGateway
  /** For the middleware's onRetry. */
  retried(info: RetryInfo): void
}

const isContext = (value: unknown): value is GraphCallContext =>
  typeof value === 'object' && value !== null && 'correlationId' in value

export function createGraphMetrics(registry: Registry): GraphMetrics {
  const calls = new Histogram({
    name: 'guestgate_graph_request_duration_seconds',
    help: 'Microsoft Graph calls by gateway operation and the HTTP status of the last answer (0: none), with durations (retries included)',
    labelNames: ['operation', 'status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  })
  const retries = new Counter({
    name: 'guestgate_graph_retries_total',
    help: 'Graph requests sent again after Graph asked to wait (429) or was unavailable (503, 504 on reads)',
    labelNames: ['status'],
    registers: [registry],
  })

  const statusOf = (error: unknown): number => (error instanceof GraphRequestError ? error.status : 0)

  return {
    retried: (info) => { retries.inc({ status: String(info.status) }) },
    instrument(gateway) {
      return new Proxy(gateway, {
        get(target, property, receiver) {
          const member: unknown = Reflect.get(target, property, receiver)
          if (typeof member !== 'function' || typeof property !== 'string') return member
          return (...args: unknown[]) => {
            const context = args.filter(isContext).pop()
            const call = (member as (...a: unknown[]) => Promise<{ status: number }>).apply(target, args)
            if (context?.plan) return call
            const end = calls.startTimer({ operation: property })
            return call.then(
              (result) => { end({ status: String(result.status) }); return result },
              (error: unknown) => { end({ status: String(statusOf(error)) }); throw error },
            )
          }
        },
      })
    },
  }
}
