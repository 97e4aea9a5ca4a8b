// Invitation limits: per requester (its role's maxPerHour) and per tenant (the policy's
// limits.invitationsPerHour). They are counted from the audit log's intent rows, so every replica
// sees the same counts, and a new invitation is counted, decided and reserved in one step: under
// transaction-scoped advisory locks on the tenant and the requester, in the transaction that
// writes its intent row (the reservation). So at most N pass in any burst. Resends count too.
import type { FastifyInstance } from 'fastify'
import type { Caller } from './caller.js'
import type { Principal } from '../auth/principal.js'
import type { Queryable } from '../db/queryable.js'
import { databaseUnavailable } from '../errors.js'
import type { PolicyContext, PolicyDecision, PolicyTarget } from '../policies/types.js'

/** Audit actions that send an invitation e-mail or a redeem link. */
export const INVITING_ACTIONS = ['invitation.invite', 'guest.resend', 'guest.resetRedemption']

const HOUR_MS = 60 * 60 * 1000

/** The counts an invitation's policy question needs. Without `db`: a first answer outside any
 *  lock (the route's early refusal, the what-if); with it: the exact count under the locks.
 *  The requester's count is one (whichever role allowed an invitation); when it is at a limit,
 *  when it falls below each limit of the requester's roles (the engine picks the one of the roles
 *  that allow the invitation asked about). */
export async function invitationContext(app: FastifyInstance, principal: Principal, db?: Queryable): Promise<PolicyContext> {
  const limits = app.policies.current().invitationLimitsOf(principal)
  const window = { actions: INVITING_ACTIONS, windowMs: HOUR_MS }
  const mine = (limit: number | undefined) => app.audit.intentWindow({ ...window, actorOid: principal.oid, limit }, db)
  // The summary's limit (me/permissions) is one of the roles' limits, or none: asked once each.
  const asked = limits.requesterLimits.length > 0 ? limits.requesterLimits : [limits.requester]
  const [tenant, ...windows] = await Promise.all([
    limits.tenant === undefined ? { count: 0, retryAt: null } : app.audit.intentWindow({ ...window, limit: limits.tenant }, db),
    ...asked.map(mine),
  ]).catch((error: unknown) => { throw databaseUnavailable(error) })
  const requesterAt: Record<number, Date | null> = {}
  asked.forEach((limit, i) => { if (limit !== undefined) requesterAt[limit] = windows[i]!.retryAt })
  return {
    invitationsInLastHour: Math.max(...windows.map((w) => w.count)),
    tenantInvitationsInLastHour: tenant.count,
    retryAt: {
      requester: limits.requester === undefined ? null : requesterAt[limits.requester] ?? null,
      tenant: tenant.retryAt,
      requesterAt,
    },
  }
}

const lockKey = (...parts: string[]) => ['guestgate', ...parts].join(':').toLowerCase()

/** The single-flight key of invitations (and resends) to one address. */
export const invitationKey = (principal: Principal, email: string) => lockKey('invite', principal.tenantId, email)

/** The reservation step of an invitation's write: lock the counters (tenant first, always the
 *  same order), count, and ask the policy the invitation's question again with those counts.
 *  The requester's counter is locked whenever one of its inviting roles has a limit, even when
 *  the roles allowing this invitation have none: this invitation still counts towards the
 *  limited role's invitations, which count under the same lock. */
export function reserveInvitation(app: FastifyInstance, request: Caller, target: Extract<PolicyTarget, { type: 'Invitation' }>) {
  return async (db: Queryable): Promise<PolicyDecision> => {
    const principal = request.authenticatedPrincipal()
    const limits = app.policies.current().invitationLimitsOf(principal)
    if (limits.tenant !== undefined) await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey('limit', principal.tenantId)])
    if (limits.requesterLimits.length > 0) {
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey('limit', principal.tenantId, principal.oid)])
    }
    return request.evaluate('invite', target, await invitationContext(app, principal, db))
  }
}
