// Access bundles and expiries of a guest (issue 14). Thin: the questions and writes are in
// operations/access-bundles.ts and operations/expiry.ts, shared with onboarding and the sweep.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { AuditActor } from '../../audit/types.js'
import { databaseUnavailable, notFound } from '../../errors.js'
import { authorizeBundle, authorizeHeldBundle, findBundle, grantBundle, partKey, removeBundleParts, type BundlePart } from '../../operations/access-bundles.js'
import { authorizeSoonerExpiry, bundleExpiry, checkExpiry, type ExpiryAccess } from '../../operations/expiry.js'
import { outcomeOf } from '../../operations/guest-access.js'
import { actorOf } from '../../operations/request-identity.js'
import { checkAppRole, checkGroupMembership, enforcing, loadGuest } from '../../operations/policy-targets.js'
import { identityOf } from '../request-identity.js'
import { grantBundle as grantBundleSchema, listExpiries, renewExpiry, revokeBundle, type BundleParams, type ExpiryParams, type GrantBundleBody, type GuestIdParams, type RenewBody } from './schemas.js'

const toExpiry = (e: { id: string; kind: string; subject: string; label: string | null; expiresAt: Date; grantedBy: unknown }) => {
  const by = e.grantedBy as AuditActor
  return { id: e.id, kind: e.kind as 'guest', subject: e.subject, label: e.label, expiresAt: e.expiresAt.toISOString(), grantedBy: { oid: by.oid, name: by.name } }
}

export default async function lifecycleRoutes(app: FastifyInstance) {
  app.post('/:id/bundles', { schema: grantBundleSchema, config: { authorization: { action: 'grantBundle', subject: 'AccessBundle' } } }, async (request) => {
    const { id } = request.params as GuestIdParams
    const body = request.body as GrantBundleBody
    const bundle = findBundle(app, body.bundle, 'body/bundle')
    let expiresAt = bundleExpiry(app, request, bundle, body.expiresAt, 'body/expiresAt')
    const guest = await loadGuest(app, request, id)
    const auditTarget = { type: 'guest', id, displayName: guest.mail ?? guest.displayName }
    const { plan } = await authorizeBundle(app, request, enforcing(request, { auditTarget, summary: { bundle: bundle.name } }), bundle, 'grant', 'body/bundle')
    // Granted again: the grant's expiry moves as a renewal would. Without a date it never comes
    // sooner (a retry keeps the grant's date); an earlier date asked needs the removal right.
    const held = await app.prisma.accessBundleGrant.findFirst({ where: { guestId: id, bundle: bundle.name, state: 'active' } })
    if (held?.expiresAt && expiresAt < held.expiresAt) {
      if (body.expiresAt === undefined) expiresAt = held.expiresAt
      else {
        await authorizeSoonerExpiry(app, request, { access: { kind: 'bundle', bundle, parts: held.parts as BundlePart[] }, at: expiresAt, current: held.expiresAt,
          field: 'body/expiresAt', accessField: 'body/bundle', auditTarget, summary: { bundle: bundle.name } })
      }
    }
    const result = await grantBundle(app, request, { id, label: auditTarget.displayName }, plan!, expiresAt, { operationId: randomUUID() })
    return { guestId: id, ...result }
  })

  app.delete('/:id/bundles/:name', { schema: revokeBundle, config: { authorization: { action: 'revokeBundle', subject: 'AccessBundle' } } }, async (request) => {
    const { id, name } = request.params as BundleParams
    const bundle = findBundle(app, name, 'params/name')
    const guest = await loadGuest(app, request, id)
    const grant = await app.prisma.accessBundleGrant.findFirst({ where: { guestId: id, bundle: name, state: 'active' } })
    if (!grant) throw notFound(`Guest ${id} holds no active grant of bundle ${name}.`)
    const auditTarget = { type: 'guest', id, displayName: guest.mail ?? guest.displayName }
    // Each part with the decision its single route's question gave (the grant may hold parts the
    // bundle no longer lists: those are asked the same questions now).
    const parts = grant.parts as BundlePart[]
    const { decisions } = await authorizeHeldBundle(app, request, enforcing(request, { auditTarget, summary: { bundle: name } }), bundle, 'revoke', parts, 'params/name')
    const operationId = randomUUID()
    const outcomes = await removeBundleParts(app, request, { id, label: auditTarget.displayName }, { id: grant.id, bundle: name, parts },
      (part) => decisions!.get(partKey(part))!, { operationId, summary: { bundle: name } })
    if (!request.dryRun && !outcomes.some((p) => p.status === 'failed')) {
      const now = new Date()
      await app.prisma.$transaction([
        app.prisma.accessBundleGrant.update({ where: { id: grant.id }, data: { state: 'revoked', endedAt: now } }),
        app.prisma.accessExpiry.updateMany({ where: { kind: 'bundle', subject: grant.id, state: 'active' }, data: { state: 'cancelled', completedAt: now, updatedAt: now } }),
      ])
    }
    return { guestId: id, bundle: name, grantId: grant.id, operationId, outcome: outcomeOf(outcomes), parts: outcomes }
  })

  app.get('/:id/expiries', { schema: listExpiries, config: { authorization: { action: 'read', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params as GuestIdParams
    await request.authorize('read', { type: 'Guest', id })
    await loadGuest(app, request, id)
    const items = await app.prisma.accessExpiry.findMany({ where: { guestId: id, state: 'active' }, orderBy: [{ expiresAt: 'asc' }, { id: 'asc' }] })
    return { items: items.map(toExpiry) }
  })

  app.post('/:id/expiries/:expiryId/renew', { schema: renewExpiry, config: { authorization: { action: 'read', subject: 'Guest' } } }, async (request) => {
    const { id, expiryId } = request.params as ExpiryParams
    const body = request.body as RenewBody
    const item = await app.prisma.accessExpiry.findFirst({ where: { id: expiryId, guestId: id, state: 'active' } })
    if (!item) throw notFound(`Guest ${id} has no active expiry ${expiryId}.`)
    const guest = await loadGuest(app, request, id)
    const auditTarget = { type: 'guest', id, displayName: guest.mail ?? guest.displayName }
    const summary = { expiryId, kind: item.kind, subject: item.subject, from: item.expiresAt.toISOString(), to: body.expiresAt }
    const ask = enforcing(request, { auditTarget, summary })
    // Renewing is granting again for longer: the question of granting that access now, as the
    // grant asks it (a bundle: every part too, authorizeHeldBundle).
    let decision
    let access: ExpiryAccess
    switch (item.kind) {
      case 'bundle': {
        const bundle = findBundle(app, item.label ?? '', 'params/expiryId')
        const grant = await app.prisma.accessBundleGrant.findUnique({ where: { id: item.subject } })
        access = { kind: 'bundle', bundle, parts: (grant?.parts ?? []) as BundlePart[] }
        decision = (await authorizeHeldBundle(app, request, ask, bundle, 'grant', access.parts, 'params/expiryId')).decision
        checkExpiry(app, request, { kind: 'bundle', bundle: bundle.name }, body.expiresAt, 'body/expiresAt')
        break
      }
      case 'group':
        access = { kind: 'group', groupId: item.subject }
        decision = (await checkGroupMembership(app, request, ask, 'addMember', item.subject)).decision
        checkExpiry(app, request, { kind: 'group' }, body.expiresAt, 'body/expiresAt')
        break
      case 'appRole': {
        const [appId, appRoleId] = item.subject.split('/') as [string, string]
        access = { kind: 'appRole', appId, appRoleId }
        decision = (await checkAppRole(app, request, ask, 'assign', appId, { appRoleId }, 'params/expiryId')).decision
        checkExpiry(app, request, { kind: 'appRole' }, body.expiresAt, 'body/expiresAt')
        break
      }
      default:
        access = { kind: 'guest', guestId: id }
        decision = await ask('invite', { type: 'Invitation', email: guest.mail ?? '' })
        checkExpiry(app, request, { kind: 'guest' }, body.expiresAt, 'body/expiresAt')
    }
    const expiresAt = new Date(body.expiresAt)
    // An earlier date is no renewal: the sweep would take the access away sooner, which only a
    // caller who may remove it now may ask for.
    await authorizeSoonerExpiry(app, request, { access, at: expiresAt, current: item.expiresAt, field: 'body/expiresAt', accessField: 'params/expiryId', auditTarget, summary })
    const identity = identityOf(request)
    if (request.dryRun) return toExpiry({ ...item, expiresAt })
    // Recorded before it is changed, as every change is.
    await app.audit.append({
      operationId: randomUUID(), requestId: identity.requestId, correlationId: randomUUID(), actor: actorOf(identity.principal),
      action: 'expiry.renew', target: auditTarget, decision: 'allowed', status: 'recorded',
      ruleId: decision.rule, reason: decision.reason, policyVersion: decision.policyVersion, requestSummary: { ...identity.context, ...summary },
    }).catch((error: unknown) => { throw databaseUnavailable(error) })
    const grantedBy = { ...actorOf(identity.principal) }
    const updated = await app.prisma.$transaction(async (tx) => {
      const row = await tx.accessExpiry.update({ where: { id: expiryId }, data: { expiresAt, grantedBy, remindedDays: [], updatedAt: new Date() } })
      if (item.kind === 'bundle') await tx.accessBundleGrant.updateMany({ where: { id: item.subject, state: 'active' }, data: { expiresAt } })
      return row
    })
    return toExpiry(updated)
  })
}
