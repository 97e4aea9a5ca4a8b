import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { badRequest, databaseUnavailable } from '../../errors.js'
import { actorOf } from '../../operations/audited-graph.js'
import { checkAppRole, checkGroupMembership, evaluating, invitationQuestion } from '../../operations/policy-targets.js'
import type { PolicyDecision, PolicyTarget } from '../../policies/types.js'
import { invitableEmail } from '../../schemas/email-address.js'
import { checkAuthorization, getMyPermissions, type CheckBody } from './schemas.js'

export default async function authorizationRoutes(app: FastifyInstance) {
  const self = { action: 'check', subject: 'Self' } as const

  function required<K extends keyof CheckBody['target']>(body: CheckBody, key: K): NonNullable<CheckBody['target'][K]> {
    const value = body.target[key]
    if (value === undefined) throw badRequest(`body/target/${key}: is required for ${body.action}`, [{ field: `body/target/${key}`, message: `is required for ${body.action}` }])
    return value!
  }

  /** The same questions, in the same order, as the route that would do it. */
  async function whatIf(request: FastifyRequest, body: CheckBody): Promise<PolicyDecision> {
    const ask = evaluating(request)
    switch (body.action) {
      case 'invite': {
        const email = invitableEmail(required(body, 'email'), 'body/target/email')
        const question = await invitationQuestion(app, request, email, body.target.redirectUrl ?? app.config.defaultRedirectUrl)
        return ask('invite', question.target, question.context)
      }
      case 'resend':
      case 'delete':
      case 'revokeAccess':
        return ask(body.action, { type: 'Guest', id: required(body, 'guestId') })
      case 'read':
      case 'export': {
        const subject = body.action === 'export' ? 'AuditLog' : body.subject ?? 'Guest'
        const target: PolicyTarget = subject === 'Guest' ? { type: 'Guest', id: body.target.guestId }
          : subject === 'Group' ? { type: 'Group' } : subject === 'App' ? { type: 'App' } : { type: 'AuditLog' }
        return ask(body.action, target)
      }
      case 'addMember':
      case 'removeMember':
        return (await checkGroupMembership(app, request, ask, body.action, required(body, 'groupId'))).decision
      case 'assign':
      case 'unassign': {
        if (body.target.appRole === undefined && body.target.appRoleId === undefined) required(body, 'appRole')
        return (await checkAppRole(app, request, ask, body.action, required(body, 'appId'),
          { appRole: body.target.appRole, appRoleId: body.target.appRoleId }, 'body/target/appRole')).decision
      }
    }
    throw badRequest(`body/action: unknown action`, [{ field: 'body/action', message: 'is not a known action' }])
  }

  app.post('/authorization/check', { schema: checkAuthorization, config: { authorization: self } }, async (request) => {
    const body = request.body as CheckBody
    const answer = await whatIf(request, body)
    await app.audit.append({
      operationId: randomUUID(),
      requestId: String(request.id),
      correlationId: randomUUID(),
      actor: actorOf(request.authenticatedPrincipal()),
      action: 'authorization.check',
      target: { type: 'self' },
      decision: 'allowed',
      status: 'recorded',
      ruleId: answer.rule,
      reason: answer.reason,
      policyVersion: answer.policyVersion,
      requestSummary: { askedAction: body.action, subject: body.subject ?? null, target: body.target, allowed: answer.allowed },
    }).catch(() => { throw databaseUnavailable() })
    return { allowed: answer.allowed, rule: answer.rule, reason: answer.reason, policyVersion: answer.policyVersion }
  })

  app.get('/me/permissions', { schema: getMyPermissions, config: { authorization: self } }, async (request) => {
    await request.authorize('check', { type: 'Self' })
    return app.policies.current().permissionsOf(request.authenticatedPrincipal())
  })
}
