import { Type, type Static } from '@sinclair/typebox'
import { OUTCOMES } from '../../schemas/guest.js'
import { StringEnum } from '../../schemas/enum.js'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { BUNDLE_NAME_PATTERN } from '../../policies/policy-file.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'

export const ExpiresAt = Type.String({ format: 'date-time', description: 'When the access ends (RFC 3339). In the future, and within the policy\'s cap (a role\'s expiry.maxDays, a bundle\'s maxDays); beyond it: 422 naming the field and the cap.' })
export const BundleName = Type.String({ pattern: BUNDLE_NAME_PATTERN, description: 'A bundle of the policy file, e.g. contractor-dev' })

const GuestIdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'Object id of the guest user' }) }, { additionalProperties: false })
export type GuestIdParams = Static<typeof GuestIdParams>
const BundleParams = Type.Object({ id: Type.String({ format: 'uuid' }), name: BundleName }, { additionalProperties: false })
export type BundleParams = Static<typeof BundleParams>
const ExpiryParams = Type.Object({ id: Type.String({ format: 'uuid' }), expiryId: Type.String({ format: 'uuid' }) }, { additionalProperties: false })
export type ExpiryParams = Static<typeof ExpiryParams>

export const GrantBundleBody = Type.Object({
  bundle: BundleName,
  expiresAt: Type.Optional(Type.String({ ...ExpiresAt, description: 'When the grant ends; default: the bundle\'s maxDays from now. At most maxDays from now.' })),
}, { additionalProperties: false })
export type GrantBundleBody = Static<typeof GrantBundleBody>

export const RenewBody = Type.Object({ expiresAt: ExpiresAt }, { additionalProperties: false })
export type RenewBody = Static<typeof RenewBody>

const BundleResult = Type.Object({
  guestId: Type.String({ format: 'uuid' }),
  bundle: Type.String(),
  grantId: Type.String({ format: 'uuid', description: 'The recorded grant (a bundle granted again renews the same grant)' }),
  expiresAt: Type.String({ format: 'date-time' }),
  operationId: Type.String({ format: 'uuid', description: 'Audit operation id of every part' }),
  outcome: StringEnum(OUTCOMES, { description: 'partial: a part failed at Graph (parts says which); grant the bundle again to retry' }),
  parts: Type.Array(Type.Ref('OperationPart')),
}, { additionalProperties: false, description: 'Every part of the bundle, in order' })

const guestFailures = { 404: problemResponse('No guest with this id'), 502: problemResponse('Microsoft Graph failed') }

export const grantBundle = {
  operationId: 'grantBundle',
  tags: ['lifecycle'],
  summary: 'Grant an access bundle to a guest',
  description: 'Grants every group and app role of a bundle of the policy file as one operation. The caller needs a role the bundle lists in grantableBy, and every part is asked the question of its single route (add to this group, grant this app role) before anything is sent: one part denied is a 403 (audited) and nothing is done. Each part is audited under one operation id; a part that fails at Graph makes the outcome "partial". The grant is recorded with its expiry (default and maximum: the bundle\'s maxDays).',
  params: GuestIdParams,
  body: GrantBundleBody,
  ...graphPermissions('User.Read.All', 'GroupMember.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All'),
  response: {
    200: BundleResult,
    ...standardProblemResponses,
    ...guestFailures,
    422: problemResponse('No such bundle, an app role of it cannot be assigned, or expiresAt is in the past or beyond the bundle\'s maxDays'),
  },
}

export const revokeBundle = {
  operationId: 'revokeBundle',
  tags: ['lifecycle'],
  summary: 'Revoke an access bundle from a guest',
  description: 'Takes away the groups and app roles the guest\'s active grant of this bundle gave, as one operation: every part authorized first (remove from this group, revoke this app role; 403 and nothing done when one is not allowed), each part audited. A part another active bundle grant of the guest still gives is kept. The grant and its expiry end.',
  params: BundleParams,
  ...graphPermissions('User.Read.All', 'GroupMember.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All'),
  response: {
    200: Type.Object({
      guestId: Type.String({ format: 'uuid' }),
      bundle: Type.String(),
      grantId: Type.String({ format: 'uuid' }),
      operationId: Type.String({ format: 'uuid' }),
      outcome: StringEnum(OUTCOMES),
      parts: Type.Array(Type.Ref('OperationPart')),
    }, { additionalProperties: false, description: 'Every removal, in order (kept: another active grant still gives it)' }),
    ...standardProblemResponses,
    404: problemResponse('No such guest or bundle, or the guest holds no active grant of it'),
    502: problemResponse('Microsoft Graph failed'),
  },
}

const ExpirySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: StringEnum(['guest', 'bundle', 'group', 'appRole']),
  subject: Type.String({ description: 'guest: the guest id; bundle: the grant id; group: the group id; appRole: appId/appRoleId' }),
  label: Type.Union([Type.String(), Type.Null()], { description: 'The bundle name, group name or app role value' }),
  expiresAt: Type.String({ format: 'date-time' }),
  grantedBy: Type.Object({ oid: Type.String(), name: Type.String() }, { description: 'Who set (or last renewed) it' }),
}, { additionalProperties: false })

export const listExpiries = {
  operationId: 'listGuestExpiries',
  tags: ['lifecycle'],
  summary: 'What of a guest\'s access expires, and when',
  description: 'The active expiries of the guest: the guest itself (all its access), bundle grants, group memberships and app role assignments, soonest first.',
  params: GuestIdParams,
  ...graphPermissions('User.Read.All'),
  response: {
    200: Type.Object({ items: Type.Array(ExpirySchema) }, { additionalProperties: false, description: 'The guest\'s active expiries, soonest first' }),
    ...standardProblemResponses, ...guestFailures,
  },
}

export const renewExpiry = {
  operationId: 'renewExpiry',
  tags: ['lifecycle'],
  summary: 'Move an expiry to a new date',
  description: 'Renews one expiry of the guest (see listGuestExpiries) to expiresAt, within the cap the policy gives the caller now: a bundle\'s maxDays, or for a guest, group or app role the caller\'s role expiry.maxDays. The caller must be allowed to grant that access now (grant the bundle and each of its parts, add to the group, grant the app role, invite the guest\'s domain); a date earlier than the current one takes the access away sooner and also needs the right to remove it (403 with the removal\'s rule otherwise). Audited (action expiry.renew).',
  params: ExpiryParams,
  body: RenewBody,
  ...graphPermissions('User.Read.All', 'GroupMember.Read.All', 'Application.Read.All'),
  response: {
    200: { ...ExpirySchema, description: 'The expiry with its new date' },
    ...standardProblemResponses,
    404: problemResponse('No such guest, or no active expiry with this id for it'),
    422: problemResponse('expiresAt is in the past or beyond the cap (the field and the cap are named)'),
    502: problemResponse('Microsoft Graph failed'),
  },
}
