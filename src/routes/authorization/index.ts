import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { auditUnavailable, badRequest, ProblemError } from '../../errors.js'
import { actorOf } from '../../operations/audited-graph.js'
import { authorizeBundle, findBundle } from '../../operations/access-bundles.js'
import { checkResend } from '../../operations/guest-actions.js'
import { myPermissions } from '../../operations/my-permissions.js'
import { checkAppRole, checkGroupMembership, checkGuestAction, evaluating, invitationQuestion } from '../../operations/policy-targets.js'
import type { PolicyDecision, PolicySubject } from '../../policies/types.js'
import { invitableEmail } from '../../schemas/email-address.js'
import { frozenPayloads } from '../frozen-payloads.js'
import { checkAuthorization, getMyPermissions, type CheckBody } from './schemas.js'

/** The kind of target the real route's coarse check names for this action. */
function subjectOf(body: CheckBody): PolicySubject {
  switch (body.action) {
    case 'invite': return 'Invitation'
    case 'read': return body.subject ?? 'Guest'
    case 'export': return 'AuditLog'
    case 'addMember': case 'removeMember': return 'GroupMembership'
    case 'assign': case 'unassign': return 'AppRoleAssignment'
    case 'grantBundle': case 'revokeBundle': return 'AccessBundle'
    default: return 'Guest'
  }
}

export default async function authorizationRoutes(app: FastifyInstance) {
  const self = { action: 'check', subject: 'Self' } as const

  function required<K extends keyof CheckBody['target']>(body: CheckBody, key: K): NonNullable<CheckBody['target'][K]> {
    const value = body.target[key]
    if (value === undefined) throw badRequest(`body/target/${key}: is required for ${body.action}`, [{ field: `body/target/${key}`, message: `is required for ${body.action}` }])
    return value
  }

  /**
   * The same questions, in the same order, as the route that would do it: first the route's
   * coarse grant (a caller without it learns nothing about the target: no Graph lookup), then
   * the shared question function of that route.
   */
  async function whatIf(request: FastifyRequest, body: CheckBody): Promise<PolicyDecision> {
    const coarse = app.policies.current().decideAny(request.authenticatedPrincipal(), body.action, subjectOf(body))
    if (!coarse.allowed) return coarse
    const ask = evaluating(request)
    switch (body.action) {
      case 'invite': {
        const email = invitableEmail(required(body, 'email'), 'body/target/email')
        const question = await invitationQuestion(app, request, email, body.target.redirectUrl ?? app.config.defaultRedirectUrl)
        return ask('invite', question.target, question.context)
      }
      case 'resend':
        // The route's whole question: the resend grant, then the invitation's (domain, redirect URL, limits).
        return (await checkResend(app, request, () => ask, required(body, 'guestId'), body.target.redirectUrl ?? app.config.defaultRedirectUrl)).decision
      case 'delete':
      case 'revokeAccess':
      case 'manageSponsors':
      case 'blockSignIn':
      case 'revokeSessions':
        return (await checkGuestAction(app, request, () => ask, body.action, required(body, 'guestId'))).decision
      case 'read':
        switch (subjectOf(body)) {
          case 'Guest':
            return body.target.guestId === undefined ? ask('read', { type: 'Guest' })
              : (await checkGuestAction(app, request, () => ask, 'read', body.target.guestId)).decision
          case 'GroupMembership':
            return (await checkGroupMembership(app, request, ask, 'read', required(body, 'groupId'))).decision
          case 'Group': return ask('read', { type: 'Group' })
          case 'App': return ask('read', { type: 'App' })
          default: return ask('read', { type: 'AuditLog' })
        }
      case 'export':
        return ask('export', { type: 'AuditLog' })
      case 'addMember':
      case 'removeMember':
        return (await checkGroupMembership(app, request, ask, body.action, required(body, 'groupId'))).decision
      case 'assign':
      case 'unassign': {
        if (body.target.appRole === undefined && body.target.appRoleId === undefined) required(body, 'appRole')
        return (await checkAppRole(app, request, ask, body.action, required(body, 'appId'),
          { appRole: body.target.appRole, appRoleId: body.target.appRoleId }, 'body/target/appRole')).decision
      }
      case 'grantBundle':
      case 'revokeBundle': {
        const bundle = findBundle(app, required(body, 'bundle'), 'body/target/bundle')
        return (await authorizeBundle(app, request, ask, bundle, body.action === 'grantBundle' ? 'grant' : 'revoke', 'body/target/bundle')).decision
      }
    }
    throw badRequest(`body/action: unknown action`, [{ field: 'body/action', message: 'is not a known action' }])
  }

  /** Every answer of the what-if is audited, refusals of the question included (404, 409, 422):
   *  what a caller looked up is part of the record. No row, no answer (503). */
  async function record(request: FastifyRequest, body: CheckBody, outcome: { answer: PolicyDecision } | { error: unknown }) {
    const problem = 'error' in outcome
      ? (outcome.error instanceof ProblemError ? outcome.error : new ProblemError(500, 'internal_error', 'Internal error', 'internal error'))
      : undefined
    const answer = 'answer' in outcome ? outcome.answer : undefined
    await app.audit.append({
      operationId: randomUUID(),
      requestId: String(request.id),
      correlationId: randomUUID(),
      actor: actorOf(request.authenticatedPrincipal()),
      action: 'authorization.check',
      target: { type: 'self' },
      decision: 'allowed',
      status: 'recorded',
      ruleId: answer?.rule ?? null,
      reason: answer?.reason ?? null,
      policyVersion: answer?.policyVersion ?? app.policies.current().version,
      requestSummary: {
        askedAction: body.action, subject: body.subject ?? null, target: body.target,
        ...(answer ? { allowed: answer.allowed } : { answer: { status: problem!.status, code: problem!.code } }),
      },
      graphStatus: problem?.extras.graphStatus ?? null,
      graphErrorCode: problem?.extras.graphErrorCode ?? null,
      message: problem?.detail ?? null,
    }).catch((err: unknown) => {
      request.log.error({ err }, 'what-if could not be audited; answering 503')
      throw auditUnavailable()
    })
  }

  app.post('/authorization/check', {
    schema: checkAuthorization,
    config: { authorization: self, readOnly: true, rateLimit: { max: app.config.rateLimit.whatIfMax, timeWindow: app.config.rateLimit.windowMs } },
  }, async (request) => {
    const body = request.body as CheckBody
    let answer: PolicyDecision
    try {
      answer = await whatIf(request, body)
    } catch (error) {
      await record(request, body, { error })
      throw error
    }
    await record(request, body, { answer })
    return { allowed: answer.allowed, rule: answer.rule, reason: answer.reason, policyVersion: answer.policyVersion }
  })

  const sendPermissions = frozenPayloads()
  app.get('/me/permissions', { schema: getMyPermissions, config: { authorization: self } }, async (request, reply) => {
    await request.authorize('check', { type: 'Self' })
    return sendPermissions(reply, await myPermissions(app, request))
  })
}
