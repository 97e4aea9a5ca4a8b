// Dry run on every mutating route: `?dryRun=true` runs the request's own code up to Graph (every
// policy question, every read, the checks that would refuse it) and answers what it decided and
// which Graph writes it would send (method, path, body), changing nothing: no write reaches Graph,
// no intent row, no budget or limit spent. One audit row (status dry-run) records the dry run.
import { randomUUID } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import type { AuditTarget } from '../audit/types.js'
import { auditUnavailable } from '../errors.js'
import type { PlannedGraphCall } from '../graph/graph-gateway.js'
import { actorOf } from '../operations/request-identity.js'
import type { PolicyAction, PolicyDecision, PolicyTarget } from '../policies/types.js'

export const DRY_RUN_TYPE = 'application/vnd.guestgate.dry-run+json'

export interface DryRunDecision {
  action: PolicyAction
  subject: PolicyTarget['type']
  target: Record<string, unknown>
  allowed: boolean
  rule: string
  reason: string
}

export interface DryRunRecord {
  operationId: string
  decisions: DryRunDecision[]
  calls: PlannedGraphCall[]
  /** What else the dry run's audit row should say (a bulk file: its hash and row count). */
  summary?: Record<string, unknown>
  /** Refusals asked for the request's parts under their own records (a bulk file's rows): the
   *  audit row is a denial when one of them is, as the real request's parts would be. */
  partRefusals?: DryRunDecision[]
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request asked for a dry run. */
    dryRun: DryRunRecord | null
  }
  interface FastifyContextConfig {
    /** A POST that changes nothing (the what-if): no dry run, nothing to plan. */
    readOnly?: boolean
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export const DryRunResult = Type.Object({
  dryRun: Type.Literal(true),
  operationId: Type.String({ format: 'uuid', description: 'The dry run\'s audit row' }),
  wouldAnswer: Type.Object({
    status: Type.Integer({ description: 'The status the real request would get now' }),
    body: Type.Unknown({ description: 'Its body. Ids Graph would create show as 00000000-0000-0000-0000-000000000000.' }),
  }),
  decisions: Type.Array(Type.Object({
    action: Type.String(), subject: Type.String(), target: Type.Record(Type.String(), Type.Unknown()),
    allowed: Type.Boolean(), rule: Type.String(), reason: Type.String(),
  }), { description: 'Every policy question the request asked, in order, with the answer' }),
  graphCalls: Type.Array(Type.Object({ method: Type.String(), path: Type.String(), body: Type.Optional(Type.Unknown()) }),
    { description: 'The Microsoft Graph writes it would send, in order (reads are made for real)' }),
}, { description: 'What the request would do; nothing was done' })

/** The fields of a target worth showing (ids and names, never more). */
function targetSummary(target: PolicyTarget): Record<string, unknown> {
  const { type: _type, ...rest } = target
  return rest
}

export function recordDecision(request: Pick<FastifyRequest, 'dryRun'>, action: PolicyAction, target: PolicyTarget, decision: PolicyDecision): void {
  request.dryRun?.decisions.push({
    action, subject: target.type, target: targetSummary(target), allowed: decision.allowed, rule: decision.rule, reason: decision.reason,
  })
}

const isDryRunRoute = (method: string, config: { public?: boolean; readOnly?: boolean } | undefined) =>
  MUTATING.has(method) && !config?.public && !config?.readOnly

export default fp(async function dryRun(app: FastifyInstance) {
  app.decorateRequest('dryRun', null)

  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat()
    if (!methods.some((m) => isDryRunRoute(m, route.config))) return
    const schema = (route.schema ??= {}) as { querystring?: { type?: string; properties?: Record<string, unknown> }; response?: Record<string | number, unknown> }
    const query = schema.querystring ?? { type: 'object', properties: {} }
    schema.querystring = {
      ...query,
      properties: {
        ...query.properties,
        dryRun: Type.Boolean({ default: false, description: 'true: run every check and answer what would be done (decisions, Graph writes), doing nothing' }),
      },
    }
    // The dry run's answer is documented as a 200 of its own media type beside the route's own.
    const response = (schema.response ??= {})
    const ok = response[200] as Record<string, unknown> | undefined
    const dryRunContent = { [DRY_RUN_TYPE]: { schema: DryRunResult } }
    if (ok === undefined) {
      response[200] = { description: 'Dry run (?dryRun=true): what the request would do', content: dryRunContent }
    } else if ('content' in ok) {
      ok.content = { ...(ok.content as object), ...dryRunContent }
    } else {
      response[200] = { description: (ok.description as string | undefined) ?? 'OK; with ?dryRun=true, what the request would do', content: { 'application/json': { schema: ok }, ...dryRunContent } }
    }
    // Hooks of these routes only: the others pay nothing for dry runs. Its onRequest hook goes
    // before the route's own (the rate limit's), as an app-wide hook would.
    route.onRequest = [startDryRun, ...[route.onRequest ?? []].flat()]
    route.onSend = [...[route.onSend ?? []].flat(), answerDryRun]
  })

  function startDryRun(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
    const query = request.query as Record<string, unknown> | undefined
    // A route of several methods: only the mutating ones have dry runs.
    if (MUTATING.has(request.method) && (query?.dryRun === 'true' || query?.dryRun === true)) {
      request.dryRun = { operationId: randomUUID(), decisions: [], calls: [] }
    }
    done()
  }

  // The answer the request would have given becomes the plan; the dry run is recorded.
  async function answerDryRun(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const plan = request.dryRun
    // Unauthenticated: nothing was asked or planned; the 401 stays as it is.
    if (!plan || !request.principal) return payload
    let body: unknown = payload
    if (typeof payload === 'string') {
      try {
        body = payload === '' ? null : JSON.parse(payload)
      } catch {
        body = payload
      }
    }
    const status = reply.statusCode
    const refused = plan.decisions.find((d) => !d.allowed) ?? plan.partRefusals?.[0]
    const target: AuditTarget = { type: 'request', displayName: `${request.method} ${request.routeOptions.url ?? request.url}` }
    try {
      await app.audit.append({
        operationId: plan.operationId, requestId: String(request.id), correlationId: randomUUID(),
        actor: actorOf(request.principal), action: `${request.routeOptions.config.authorization?.subject ?? 'request'}.${request.routeOptions.config.authorization?.action ?? 'unknown'}`,
        target, decision: refused ? 'denied' : 'allowed', status: 'dry-run',
        ruleId: refused?.rule ?? plan.decisions.at(-1)?.rule ?? null, reason: refused?.reason ?? null,
        policyVersion: app.policies.current().version,
        requestSummary: { ...plan.summary, wouldAnswer: status, decisions: plan.decisions, graphCalls: plan.calls },
      })
    } catch (err) {
      request.log.error({ err }, 'a dry run could not be recorded')
      const problem = auditUnavailable(err)
      reply.code(problem.status).headers(problem.headers).type('application/problem+json')
      return JSON.stringify({ type: 'urn:guestgate:problem:audit_unavailable', title: problem.title, status: problem.status, detail: problem.detail, instance: request.url.split('?')[0], code: problem.code, requestId: String(request.id), retryAfterSeconds: 5 })
    }
    reply.code(200).type(DRY_RUN_TYPE).removeHeader('location')
    return JSON.stringify({ dryRun: true, operationId: plan.operationId, wouldAnswer: { status, body }, decisions: plan.decisions, graphCalls: plan.calls })
  }
}, { name: 'dry-run', dependencies: ['audit', 'authentication'] })
