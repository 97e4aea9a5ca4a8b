import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { conflict } from '../../errors.js'
import type { AppRole, DirectoryGroup, ServicePrincipal } from '../../graph/graph-gateway.js'
import { addToGroup, assignAppRole, requireGuest, runPart, type PartOutcome } from '../../operations/guest-access.js'
import { invitationKey, reserveInvitation } from '../../operations/limits.js'
import { appRoleTarget, checkAppRole, checkGroupMembership, enforcing, groupMembershipTarget, invitationQuestion } from '../../operations/policy-targets.js'
import type { PolicyDecision } from '../../policies/types.js'
import { invitableEmail } from '../../schemas/email-address.js'
import { identityOf } from '../request-identity.js'
import { createInvitation, type CreateInvitationBody } from './schemas.js'

interface GroupPart { group: DirectoryGroup; decision: PolicyDecision }
interface AppRolePart { app: ServicePrincipal; role: AppRole; decision: PolicyDecision }

export default async function invitationRoutes(app: FastifyInstance) {
  /** Every part is allowed, or 403 before anything is sent to Graph. Questions that need no
   *  Graph lookup are asked first for all parts, so a part the role may never have costs no call. */
  async function authorizeAll(request: FastifyRequest, body: CreateInvitationBody, email: string, redirectUrl: string, summary: Record<string, unknown>) {
    const auditTarget = { type: 'guest', displayName: email }
    const ask = enforcing(request, { auditTarget, summary })
    const question = await invitationQuestion(app, request, email, redirectUrl)
    const invitation = await ask('invite', question.target, question.context)
    for (const groupId of body.groups ?? []) await ask('addMember', groupMembershipTarget(groupId))
    for (const { appId, appRole } of body.appRoles ?? []) await ask('assign', appRoleTarget(appId, appRole))

    const groups: GroupPart[] = []
    for (const groupId of body.groups ?? []) {
      const { decision, group } = await checkGroupMembership(app, request, ask, 'addMember', groupId)
      groups.push({ decision, group: group! })
    }
    const appRoles: AppRolePart[] = []
    for (const [i, { appId, appRole }] of (body.appRoles ?? []).entries()) {
      const checked = await checkAppRole(app, request, ask, 'assign', appId, { appRole }, `body/appRoles/${i}/appRole`)
      appRoles.push({ decision: checked.decision, app: checked.app!, role: checked.role! })
    }
    return { invitation, groups, appRoles }
  }

  app.post('/', { schema: createInvitation, config: { authorization: { action: 'invite', subject: 'Invitation' } } }, async (request, reply) => {
    const body = request.body as CreateInvitationBody
    const email = invitableEmail(body.email, 'body/email')
    const redirectUrl = body.redirectUrl ?? app.config.defaultRedirectUrl
    const sendEmail = body.sendEmail ?? true
    const summary = {
      email, displayName: body.displayName ?? null, redirectUrl, sendEmail, messageLength: body.message?.length ?? 0,
      groups: body.groups ?? [], appRoles: body.appRoles ?? [],
    }
    const allowed = await authorizeAll(request, body, email, redirectUrl, summary)

    const identity = identityOf(request)
    const operationId = randomUUID()
    const principal = request.authenticatedPrincipal()
    const invited = await app.graphOps.write(identity, {
      write: 'invitation.invite',
      params: { email, redirectUrl, sendEmail, ...(body.displayName ? { displayName: body.displayName } : {}), ...(body.message ? { message: body.message } : {}) },
      target: { type: 'guest', displayName: email }, decision: allowed.invitation, operationId,
      summary: { groups: summary.groups, appRoles: summary.appRoles },
      targetAfter: (invitation) => ({ type: 'guest', id: invitation.invitedUserId, displayName: email }),
      // One invitation per address at a time, anywhere: a second request waits, then finds the user.
      exclusive: {
        key: invitationKey(principal, email),
        precheck: async (graph, ctx) => {
          const user = (await graph.findUsersByEmail(email, ctx)).value[0]
          if (user) {
            throw conflict('user_exists', `A ${user.userType === 'Guest' ? 'guest' : 'user'} with ${email} already exists (${user.id}); no second invitation was sent. To send the invitation again use POST /v1/guests/${user.id}/resend-invitation.`,
              { existingUserId: user.id })
          }
        },
        reserve: reserveInvitation(app, request, { type: 'Invitation', email, redirectUrl }),
      },
    })
    const invitation = invited.value
    const guest = { id: invitation.invitedUserId, label: email }
    const write = { operationId, newlyInvited: true }

    const parts: PartOutcome[] = [{ kind: 'invitation', target: email, status: 'succeeded', operationId }]
    if (allowed.groups.length + allowed.appRoles.length > 0) {
      // Graph re-invites whoever holds the address by then: grant nothing to a member account.
      await requireGuest(app, request, guest, operationId, allowed.invitation)
    }
    for (const { group, decision } of allowed.groups) {
      parts.push(await runPart('group', group.id, () => addToGroup(app, identity, guest, group, { ...write, decision })))
    }
    for (const { app: sp, role, decision } of allowed.appRoles) {
      parts.push(await runPart('appRole', `${sp.id}/${role.value}`, () => assignAppRole(app, identity, guest, sp, role, { ...write, decision })))
    }
    return reply.code(201).header('location', `/v1/guests/${invitation.invitedUserId}`).send({
      id: invitation.invitedUserId,
      email: invitation.email,
      displayName: invitation.displayName,
      userType: invitation.userType,
      invitationState: invitation.status,
      inviteRedeemUrl: invitation.inviteRedeemUrl,
      operationId,
      outcome: parts.some((p) => p.status === 'failed') ? 'partial' : 'complete',
      parts,
    })
  })
}
