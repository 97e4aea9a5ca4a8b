// A policy denial, wherever it is decided (route gate, concrete target, a limit reserved inside
// a write): one audit row and one problem, so every path refuses the same way.
import { randomUUID } from 'node:crypto'
import type { AuditEntryInput, AuditTarget } from '../audit/types.js'
import { ProblemError } from '../errors.js'
import type { PolicyDecision } from '../policies/types.js'
import { actorOf, type RequestIdentity } from './request-identity.js'

export function denialEntry (identity: RequestIdentity, decision: PolicyDecision, action: string, target: AuditTarget,
  summary: Record<string, unknown> = {}, operationId: string = randomUUID()): AuditEntryInput {
  return {
    operationId,
    requestId: identity.requestId,
    correlationId: randomUUID(),
    actor: actorOf(identity.principal),
    action,
    target,
    decision: 'denied',
    status: 'denied',
    ruleId: decision.rule,
    reason: decision.reason,
    policyVersion: decision.policyVersion,
    requestSummary: { ...identity.context, ...summary },
  }
}

/** 403, or 429 with Retry-After when a limit refused (the decision says when to come back). */
export function policyProblem (decision: PolicyDecision, operationId: string): ProblemError {
  const extras = { rule: decision.rule, reason: decision.reason, policyVersion: decision.policyVersion, operationId }
  if (decision.retryAfterSeconds !== undefined) {
    const seconds = Math.max(1, Math.ceil(decision.retryAfterSeconds))
    return new ProblemError(429, 'limit_exceeded', 'Limit reached', decision.reason,
      { ...extras, retryAfterSeconds: seconds }, { 'retry-after': String(seconds) })
  }
  return new ProblemError(403, 'policy_denied', 'Not allowed by policy', decision.reason, extras)
}
