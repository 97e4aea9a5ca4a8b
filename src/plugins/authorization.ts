// Authorization is structural: a route must say in its config either `public: true` or which
// action on which kind of target it performs, or the app refuses to start. Before validation
// the caller must hold some grant for that action (coarse check); the handler then asks about
// the concrete target with request.authorize(). Every denial is audited and answered 403 (429 for
// a limit); a denial the audit log cannot take is answered 503 instead.
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { AuditTarget } from '../audit/types.js'
import type { Principal } from '../auth/principal.js'
import { auditUnavailable } from '../errors.js'
import type { Caller } from '../operations/caller.js'
import { denialEntry, policyProblem } from '../operations/denials.js'
import { recordDecision, type DryRunRecord } from './dry-run.js'
import { identityOf } from '../routes/request-identity.js'
import { createPolicyStore, type PolicyStore } from '../policies/policy-store.js'
import type { PolicyAction, PolicyContext, PolicyDecision, PolicySubject, PolicyTarget } from '../policies/types.js'

export interface RouteAuthorization {
  action: PolicyAction
  subject: PolicySubject
}

/** A job acting for a requester: its request id (e.g. the job's) and the key of the one write it makes. */
export interface JobIdentity {
  requestId: string
  idempotencyKey?: string
  /** A dry run on the principal's behalf (a bulk file's rows): decisions and planned writes go here. */
  dryRun?: DryRunRecord
}

declare module 'fastify' {
  interface FastifyInstance {
    policies: PolicyStore
    /** A Caller for work done outside a request on a principal's behalf (bulk rows, expiry). */
    callerFor(principal: Principal, as: JobIdentity): Caller
  }
  interface FastifyRequest {
    /** Asks the policy about a concrete target; throws 403 (audited) when denied. */
    authorize(action: PolicyAction, target: PolicyTarget, options?: AuthorizeOptions): Promise<PolicyDecision>
    /** The same question without acting on the answer (what-if). */
    evaluate(action: PolicyAction, target: PolicyTarget, context?: PolicyContext): PolicyDecision
    authenticatedPrincipal(): Principal
  }
  interface FastifyContextConfig {
    authorization?: RouteAuthorization
  }
}

export interface AuthorizeOptions {
  context?: PolicyContext
  /** How the target reads in the audit row (display name, id). */
  auditTarget?: AuditTarget
  summary?: Record<string, unknown>
}

export interface AuthorizationPluginOptions {
  /** Reload the policy file on SIGHUP (the server turns this on; tests may too). */
  reloadOnSighup?: boolean
}

const lowerFirst = (name: string) => `${name.charAt(0).toLowerCase()}${name.slice(1)}`

/** Audit names: guest.delete, groupMembership.addMember, auditLog.read, ... */
export const auditActionOf = (action: PolicyAction, subject: PolicySubject) => `${lowerFirst(subject)}.${action}`

export default fp(async function authorization(app: FastifyInstance, opts: AuthorizationPluginOptions) {
  const policies = createPolicyStore({
    path: app.config.policyFile,
    env: { tenantId: app.config.tenantId, ownApplicationId: app.config.appId },
    logger: app.log,
  })
  await policies.load()
  if (opts.reloadOnSighup) {
    const stop = policies.watchSignal('SIGHUP')
    app.addHook('onClose', async () => stop())
  }
  app.decorate('policies', policies)

  app.addHook('onRoute', (route) => {
    const config = route.config
    if (!config?.public && !config?.authorization) {
      throw new Error(`Route ${[route.method].flat().join(',')} ${route.url} declares neither config.public nor config.authorization`)
    }
  })

  async function deny(caller: Caller, log: FastifyBaseLogger, decision: PolicyDecision, action: string, target: AuditTarget, summary?: Record<string, unknown>): Promise<never> {
    // A dry run records the refusal in its own row (plugins/dry-run.ts).
    if (caller.dryRun) throw policyProblem(decision, caller.dryRun.operationId)
    const entry = denialEntry(identityOf(caller), decision, action, target, summary)
    try {
      await app.audit.append(entry)
    } catch (err) {
      // Fail closed: a 403 the audit log does not show would be a refusal nobody can find.
      log.error({ err, operationId: entry.operationId }, 'denial could not be audited; answering 503')
      throw auditUnavailable(err)
    }
    throw policyProblem(decision, entry.operationId)
  }

  /** The same questions, answered and recorded the same way, for requests and for jobs. */
  function evaluateFor(principal: Principal, action: PolicyAction, target: PolicyTarget, context?: PolicyContext): PolicyDecision {
    return policies.current().decide(principal, action, target, context)
  }
  async function authorizeFor(caller: Caller, log: FastifyBaseLogger, action: PolicyAction, target: PolicyTarget, options: AuthorizeOptions = {}): Promise<PolicyDecision> {
    const decision = caller.evaluate(action, target, options.context)
    if (!decision.allowed) {
      await deny(caller, log, decision, auditActionOf(action, target.type), options.auditTarget ?? { type: lowerFirst(target.type) }, options.summary)
    }
    return decision
  }

  app.decorate('callerFor', (principal: Principal, as: JobIdentity): Caller => {
    const caller: Caller = {
      id: as.requestId,
      clientRequestId: null,
      idempotencyKey: as.idempotencyKey ?? null,
      authenticatedPrincipal: () => principal,
      evaluate: (action, target, context) => {
        const decision = evaluateFor(principal, action, target, context)
        recordDecision({ dryRun: as.dryRun ?? null }, action, target, decision)
        return decision
      },
      authorize: (action, target, options) => authorizeFor(caller, app.log, action, target, options),
      ...(as.dryRun ? { dryRun: as.dryRun } : {}),
    }
    return caller
  })

  app.decorateRequest('authenticatedPrincipal', function (this: FastifyRequest) {
    if (!this.principal) throw new Error('authorization asked before authentication')
    return this.principal
  })
  app.decorateRequest('evaluate', function (this: FastifyRequest, action: PolicyAction, target: PolicyTarget, context?: PolicyContext) {
    const decision = evaluateFor(this.authenticatedPrincipal(), action, target, context)
    recordDecision(this, action, target, decision)
    return decision
  })
  app.decorateRequest('authorize', function (this: FastifyRequest, action: PolicyAction, target: PolicyTarget, options: AuthorizeOptions = {}) {
    return authorizeFor(this, this.log, action, target, options)
  })

  // A callback hook: an allowed request (the usual case) costs no promise.
  app.addHook('preValidation', (request, _reply, done) => {
    const { config, url } = request.routeOptions
    const rule = config.authorization
    if (!rule || config.public) return done()
    const decision = policies.current().decideAny(request.authenticatedPrincipal(), rule.action, rule.subject)
    if (request.dryRun) recordDecision(request, rule.action, { type: rule.subject } as PolicyTarget, decision)
    if (decision.allowed) return done()
    deny(request, request.log, decision, auditActionOf(rule.action, rule.subject), { type: lowerFirst(rule.subject) },
      { method: request.method, route: url }).catch(done)
  })
}, { name: 'authorization', dependencies: ['config', 'audit', 'authentication'] })
