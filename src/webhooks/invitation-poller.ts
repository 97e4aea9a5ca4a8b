// Invitation accepted: Graph sends no notification for it, so a job reads the pending guests'
// state (externalUserState) and remembers whom it saw pending; one that is Accepted on a later
// pass is the event. Detected at most one poll interval late; a guest who is invited and
// accepts between two passes is not reported (GUESTGATE_INVITATION_POLL_CRON sets the pace).
import type { FastifyInstance } from 'fastify'
import type { Principal } from '../auth/principal.js'
import { GraphRequestError, type DirectoryUser } from '../graph/graph-gateway.js'
import type { RequestIdentity } from '../operations/audited-graph.js'

export const POLL_QUEUE = 'invitation-poll'

export interface PollResult {
  pending: number
  accepted: string[]
}

/** Reads Graph as guestgate itself (no requester); recorded in logs under this name. */
export function pollerIdentity(tenantId: string, requestId: string): RequestIdentity {
  const principal: Principal = { oid: 'guestgate', name: 'guestgate invitation poller', tenantId, roles: [] }
  return { requestId, principal }
}

export async function pollInvitations(app: FastifyInstance, requestId: string, accepted: (user: DirectoryUser) => Promise<void>): Promise<PollResult> {
  const identity = pollerIdentity(app.config.tenantId, requestId)
  const pending = new Map<string, DirectoryUser>()
  let pageToken: string | undefined
  do {
    const page = await app.graphOps.read(identity, (graph, ctx) => graph.listGuests({ state: 'PendingAcceptance', top: 999, pageToken }, ctx))
    for (const user of page.items) pending.set(user.id, user)
    pageToken = page.nextPageToken
  } while (pageToken)

  const watched = await app.prisma.pendingInvitationWatch.findMany({ select: { guestId: true } })
  const gone = watched.filter((w) => !pending.has(w.guestId)).map((w) => w.guestId)
  await app.prisma.pendingInvitationWatch.createMany({
    data: [...pending.values()].map((user) => ({ guestId: user.id, email: user.mail })),
    skipDuplicates: true,
  })

  const acceptedIds: string[] = []
  for (const guestId of gone) {
    let user: DirectoryUser | null
    try {
      user = await app.graphOps.read(identity, (graph, ctx) => graph.getUser(guestId, ctx))
    } catch (error) {
      if (!(error instanceof GraphRequestError) || error.status !== 404) throw error
      user = null
    }
    // Still pending on this read (a replica behind the list): looked at again next time.
    if (user?.externalUserState === 'PendingAcceptance') continue
    // The event first, then forget the guest: a crash in between repeats the event with the same id.
    if (user?.externalUserState === 'Accepted') {
      await accepted(user)
      acceptedIds.push(guestId)
    }
    await app.prisma.pendingInvitationWatch.deleteMany({ where: { guestId } })
  }
  return { pending: pending.size, accepted: acceptedIds }
}
