// A guest's sponsors: users or groups of the directory who answer for the guest
// (https://learn.microsoft.com/en-us/entra/external-id/b2b-sponsors). Named at invitation (by
// default the requester, when it is a user), listed, added and removed; each change is its own
// audited Graph write through the $ref calls, and its own policy action (manageSponsors).
import type { FastifyInstance } from 'fastify'
import { conflict, unprocessable } from '../errors.js'
import { GraphRequestError, type Sponsor } from '../graph/graph-gateway.js'
import type { PolicyDecision } from '../policies/types.js'
import { identityOf } from '../routes/request-identity.js'
import type { Caller } from './caller.js'
import { addSponsor, removeSponsor, type GuestRef, type SponsorRef } from './guest-access.js'
import { checkGuestAction, enforcing } from './policy-targets.js'

/** "You can assign a maximum of five sponsors to a single guest user." (b2b-sponsors) */
export const MAX_SPONSORS = 5

const isNotFound = (error: unknown) => error instanceof GraphRequestError && error.status === 404

/** A user of the directory, else a group, else null: the two kinds Graph accepts as sponsors. */
async function findSponsorObject(app: FastifyInstance, request: Caller, id: string): Promise<SponsorRef | null> {
  const identity = identityOf(request)
  try {
    const user = await app.graphOps.read(identity, (graph, ctx) => graph.getUser(id, ctx))
    return { id: user.id, type: 'user', displayName: user.displayName }
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
  try {
    const group = await app.graphOps.read(identity, (graph, ctx) => graph.getGroup(id, ctx))
    return { id: group.id, type: 'group', displayName: group.displayName }
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
  return null
}

/** Each id must be a user or a group of the directory: else 422 naming its field, before anything is written. */
export async function resolveSponsors(app: FastifyInstance, request: Caller, ids: readonly string[], fieldOf: (index: number) => string): Promise<SponsorRef[]> {
  const found: SponsorRef[] = []
  for (const [i, id] of ids.entries()) {
    const sponsor = await findSponsorObject(app, request, id)
    if (!sponsor) {
      throw unprocessable('sponsor_not_found', `No user or group with id ${id} in the directory: a sponsor must be a user or a group of this tenant.`,
        { errors: [{ field: fieldOf(i), message: 'is not a user or group of the directory' }] })
    }
    found.push(sponsor)
  }
  return found
}

/**
 * The requester, when it is a user of the directory: Entra stamps the inviter as sponsor when an
 * invitation names none, but what it stamps for an application is not documented
 * (graph-lifecycle-facts §1), so guestgate names the person who asked. An application (its
 * token's oid is a service principal, not a user) gets no default.
 */
export async function defaultSponsor(app: FastifyInstance, request: Caller): Promise<SponsorRef | null> {
  const sponsor = await findSponsorObject(app, request, request.authenticatedPrincipal().oid)
  return sponsor?.type === 'user' ? sponsor : null
}

export interface SponsorChange {
  guestId: string
  sponsor: SponsorRef
  changed: boolean
  operationId: string
}

const guestRefOf = (guest: { id: string; mail: string | null; displayName: string | null }): GuestRef => ({ id: guest.id, label: guest.mail ?? guest.displayName })

/** The question of both changes: the guest must exist and be a guest, then manageSponsors decides (audited when denied). */
function askManageSponsors(app: FastifyInstance, request: Caller, guestId: string, sponsorId: string): Promise<{ decision: PolicyDecision; user: { id: string; mail: string | null; displayName: string | null } }> {
  return checkGuestAction(app, request,
    (u) => enforcing(request, { auditTarget: { type: 'guest', id: guestId, displayName: u.mail ?? u.displayName }, summary: { sponsorId } }),
    'manageSponsors', guestId)
}

export async function listSponsorsOf(app: FastifyInstance, request: Caller, guestId: string): Promise<Sponsor[]> {
  return app.graphOps.read(identityOf(request), (graph, ctx) => graph.listSponsors(guestId, ctx))
}

/** Adds one sponsor: already one is unchanged; a sixth is 409 before anything is sent. */
export async function addGuestSponsor(app: FastifyInstance, request: Caller, guestId: string, sponsorId: string): Promise<SponsorChange> {
  const { decision, user } = await askManageSponsors(app, request, guestId, sponsorId)
  if (sponsorId.toLowerCase() === guestId.toLowerCase()) {
    throw unprocessable('sponsor_is_guest', 'A guest cannot sponsor itself.', { errors: [{ field: 'body/sponsorId', message: 'is the guest itself' }] })
  }
  const [sponsor] = await resolveSponsors(app, request, [sponsorId], () => 'body/sponsorId')
  const current = await listSponsorsOf(app, request, guestId)
  const already = current.some((s) => s.id.toLowerCase() === sponsor!.id.toLowerCase())
  if (!already && current.length >= MAX_SPONSORS) {
    throw conflict('too_many_sponsors', `${user.mail ?? guestId} already has ${current.length} sponsors (${current.map((s) => s.id).join(', ')}), the most Entra allows; remove one first.`,
      { errors: [{ field: 'body/sponsorId', message: `the guest already has ${MAX_SPONSORS} sponsors` }] })
  }
  const outcome = await addSponsor(app, identityOf(request), guestRefOf(user), sponsor!, { decision })
  return { guestId, sponsor: sponsor!, changed: outcome.value.changed, operationId: outcome.operationId }
}

/** Removes one sponsor (only the relationship, never the sponsor's object); not a sponsor is unchanged. */
export async function removeGuestSponsor(app: FastifyInstance, request: Caller, guestId: string, sponsorId: string): Promise<SponsorChange> {
  const { decision, user } = await askManageSponsors(app, request, guestId, sponsorId)
  const current = await listSponsorsOf(app, request, guestId)
  const listed = current.find((s) => s.id.toLowerCase() === sponsorId.toLowerCase())
  // A sponsor whose object is gone is no longer listed: there is nothing to remove.
  const sponsor: SponsorRef = { id: listed?.id ?? sponsorId, type: listed?.type === 'group' ? 'group' : 'user', displayName: listed?.displayName ?? null }
  const outcome = await removeSponsor(app, identityOf(request), guestRefOf(user), sponsor, { decision })
  return { guestId, sponsor, changed: outcome.value.changed, operationId: outcome.operationId }
}
