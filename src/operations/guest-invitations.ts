// Who invited a guest, and when, from the audit log: the outcome row of each invitation that
// Graph carried out names the requester (actor) and the new guest (target). Guests invited
// outside guestgate have no such row: invitedBy and invitedAt are null for them.
import type { FastifyInstance } from 'fastify'
import type { DirectoryUser } from '../graph/graph-gateway.js'
import { databaseUnavailable } from '../errors.js'
import { toGuest, type Guest } from '../schemas/guest.js'

const INVITED = { action: 'invitation.invite', status: { in: ['succeeded', 'reconciled'] }, targetId: { not: null } }

export interface Invited {
  invitedBy: { id: string; displayName: string } | null
  invitedAt: string | null
}

const NOT_KNOWN: Invited = { invitedBy: null, invitedAt: null }

interface InvitationRow { id: bigint; targetId: string | null; actorOid: string; actorName: string; occurredAt: Date }
const SELECT = { id: true, targetId: true, actorOid: true, actorName: true, occurredAt: true } as const
const invitedOf = (row: InvitationRow): Invited => ({ invitedBy: { id: row.actorOid, displayName: row.actorName }, invitedAt: row.occurredAt.toISOString() })

/** Who invited each of these guests (the first invitation of the id), in one query (index on target id). */
export async function invitationsOf(app: FastifyInstance, guestIds: string[]): Promise<Map<string, Invited>> {
  if (guestIds.length === 0) return new Map()
  const rows = await app.prisma.auditEvent.findMany({
    where: { ...INVITED, targetId: { in: [...new Set(guestIds)] } }, orderBy: { id: 'asc' }, select: SELECT,
  }).catch((error: unknown) => { throw databaseUnavailable(error) })
  const found = new Map<string, Invited>()
  for (const row of rows) if (!found.has(row.targetId!)) found.set(row.targetId!, invitedOf(row))
  return found
}

/** Guests as the API shows them, with who invited them. */
export async function guestsWithInviter(app: FastifyInstance, users: DirectoryUser[]): Promise<Guest[]> {
  const invited = await invitationsOf(app, users.map((u) => u.id))
  return users.map((user) => toGuest(user, invited.get(user.id) ?? NOT_KNOWN))
}

/** One page of the guests a requester invited, newest first, keyed by audit row id (index on
 *  action, actor, id): the guest ids, who and when, and the row id to continue below. */
export async function invitedByPage(app: FastifyInstance, actorOid: string, page: { limit: number; belowId?: string }) {
  const rows = await app.prisma.auditEvent.findMany({
    where: { ...INVITED, actorOid, ...(page.belowId ? { id: { lt: BigInt(page.belowId) } } : {}) },
    orderBy: { id: 'desc' }, take: page.limit + 1, select: SELECT,
  }).catch((error: unknown) => { throw databaseUnavailable(error) })
  const items = rows.slice(0, page.limit).map((row) => ({ guestId: row.targetId!, ...invitedOf(row) }))
  return { items, nextBelowId: rows.length > page.limit ? String(rows[page.limit - 1]!.id) : undefined }
}
