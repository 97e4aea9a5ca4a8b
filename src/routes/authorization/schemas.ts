import { Type, type Static } from '@sinclair/typebox'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { BUNDLE_NAME_PATTERN } from '../../policies/policy-file.js'
import { StringEnum } from '../../schemas/enum.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'

export const CheckBody = Type.Object({
  action: StringEnum(['invite', 'resend', 'read', 'delete', 'revokeAccess', 'manageSponsors', 'blockSignIn', 'revokeSessions', 'addMember', 'removeMember', 'assign', 'unassign', 'export', 'grantBundle', 'revokeBundle'], { description: 'The action to ask about' }),
  subject: Type.Optional(StringEnum(['Guest', 'Group', 'App', 'AuditLog', 'GroupMembership'], {
    description: 'For read: what to read (default Guest; GroupMembership: the guests of the group in target.groupId)' })),
  target: Type.Object({
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'invite' })),
    redirectUrl: Type.Optional(Type.String({ maxLength: 2048, description: 'invite and resend (default: the configured redirect URL)' })),
    guestId: Type.Optional(Type.String({ format: 'uuid', description: 'resend, delete, revokeAccess, manageSponsors, blockSignIn, revokeSessions, read' })),
    groupId: Type.Optional(Type.String({ format: 'uuid', description: 'addMember, removeMember, read GroupMembership' })),
    appId: Type.Optional(Type.String({ format: 'uuid', description: 'assign, unassign: the service principal id' })),
    appRole: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'assign, unassign: the role by value, display name (any case) or id' })),
    appRoleId: Type.Optional(Type.String({ format: 'uuid', description: 'assign, unassign: role id (instead of appRole)' })),
    bundle: Type.Optional(Type.String({ pattern: BUNDLE_NAME_PATTERN, description: 'grantBundle, revokeBundle: the bundle (every part is asked too)' })),
  }, { additionalProperties: false, default: {} }),
}, {
  additionalProperties: false,
  examples: [{ action: 'assign', target: { appId: 'a0000000-0000-4000-8000-000000000001', appRole: 'DocuSign.Sender' } }],
})
export type CheckBody = Static<typeof CheckBody>

export const checkAuthorization = {
  operationId: 'checkAuthorization',
  tags: ['authorization'],
  summary: 'What-if: would this request be allowed?',
  description: 'Answers with the rule and reason the real request would get, without doing anything. The caller first needs the grant the real route needs for this action (e.g. some Apps.AssignRoles grant to ask about assign); without it the answer is "not allowed" with that rule, and the target is not looked up. Then the same question as the real route is asked, so the answers agree: a target the route would refuse before the policy (unknown: 404; a member of the directory for delete, or a guest who already accepted or has no address for resend: 409; an app role that cannot be assigned: 422) gets that same answer here. Every answer is audited (action authorization.check). Rate limited per caller more tightly than other routes.',
  body: CheckBody,
  // Looks the target up as the real route would.
  ...graphPermissions('User.Read.All', 'GroupMember.Read.All', 'Application.Read.All'),
  response: {
    200: Type.Object({
      allowed: Type.Boolean(),
      rule: Type.String(),
      reason: Type.String(),
      policyVersion: Type.String(),
    }, { additionalProperties: false, description: 'The answer the real request would get from the policy' }),
    ...standardProblemResponses,
    404: problemResponse('The guest, group or application named in the target does not exist'),
    409: problemResponse('The real request would be refused before the policy: the user is a member of the directory, not a guest; or, for resend, the guest already accepted or has no address'),
    422: problemResponse('The app role named in the target cannot be assigned'),
    502: problemResponse('Microsoft Graph failed while looking up the target'),
  },
}

const HourlyLimitSchema = Type.Object({
  limit: Type.Union([Type.Integer(), Type.Null()], { description: 'Invitations (and resends) allowed per hour; null: no limit' }),
  used: Type.Integer({ description: 'Sent in the last hour (a sliding window)' }),
  remaining: Type.Union([Type.Integer(), Type.Null()], { description: 'Left now; null: no limit' }),
  retryAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the limit is reached: when the next invitation may go' }),
}, { additionalProperties: false })

const RoleChoice = Type.Object({
  id: Type.String({ format: 'uuid' }),
  value: Type.Union([Type.String(), Type.Null()]),
  displayName: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
}, { additionalProperties: false })

export const getMyPermissions = {
  operationId: 'getMyPermissions',
  tags: ['authorization'],
  summary: 'What the caller may do',
  description: 'What a portal needs to offer only valid choices, in one call: domains the caller may invite and redirect URL prefixes, with the hourly invitation limits and what is left of them; groups it may manage, with their names and kinds; applications it may grant roles on, with their names and the roles (value, display name, description). Each add, remove, grant and revoke is decided as the real request would be (role-assignable and dynamic groups are never manageable). Names and kinds come from Microsoft Graph, kept for GUESTGATE_DIRECTORY_CACHE_SECONDS per policy version; the limits are counted on every call.',
  ...graphPermissions(),
  response: {
    200: Type.Object({
      policyVersion: Type.String(),
      roles: Type.Array(Type.String()),
      actions: Type.Array(Type.Object({ action: Type.String(), subject: Type.String() }, { additionalProperties: false })),
      invitations: Type.Union([Type.Object({
        allowedDomains: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: any domain but the denied ones' }),
        deniedDomains: Type.Array(Type.String()),
        redirectUrlPrefixes: Type.Array(Type.String()),
        maxPerHour: Type.Union([Type.Integer(), Type.Null()]),
        limits: Type.Object({
          requester: HourlyLimitSchema,
          tenant: Type.Union([HourlyLimitSchema, Type.Null()], { description: 'The tenant\'s limit for everyone together; null when the policy sets none' }),
        }, { additionalProperties: false }),
      }, { additionalProperties: false }), Type.Null()], { description: 'null: the caller may not invite' }),
      groups: Type.Array(Type.Object({
        groupId: Type.String(),
        found: Type.Boolean({ description: 'false: the policy names a group Graph does not have' }),
        displayName: Type.Union([Type.String(), Type.Null()]),
        kind: Type.Union([Type.Union((['security', 'microsoft365', 'mailEnabledSecurity', 'distribution'] as const).map((k) => Type.Literal(k))), Type.Null()]),
        isDynamic: Type.Boolean({ description: 'Members follow a rule: never added or removed by hand' }),
        isAssignableToRole: Type.Boolean({ description: 'Members hold directory roles: guestgate never changes them' }),
        add: Type.Boolean(),
        remove: Type.Boolean(),
      }, { additionalProperties: false })),
      apps: Type.Array(Type.Object({
        appId: Type.String({ description: 'Service principal id' }),
        found: Type.Boolean({ description: 'false: the policy names an application Graph does not have' }),
        displayName: Type.Union([Type.String(), Type.Null()]),
        grant: Type.Array(RoleChoice, { description: 'Roles a guest can hold that the caller may grant' }),
        revoke: Type.Array(RoleChoice, { description: 'Roles the caller may take away' }),
      }, { additionalProperties: false })),
      bundles: Type.Array(Type.Object({
        name: Type.String(),
        description: Type.Union([Type.String(), Type.Null()]),
        maxDays: Type.Integer({ description: 'Longest grant of the bundle, in days' }),
        groups: Type.Array(Type.String()),
        appRoles: Type.Array(Type.Object({ appId: Type.String(), appRole: Type.String() }, { additionalProperties: false })),
      }, { additionalProperties: false }), { description: 'Bundles the caller may grant: a grantableBy role, and every part allowed' }),
      expiryMaxDays: Type.Object({
        guest: Type.Union([Type.Integer(), Type.Null()]),
        group: Type.Union([Type.Integer(), Type.Null()]),
        appRole: Type.Union([Type.Integer(), Type.Null()]),
      }, { additionalProperties: false, description: 'The longest expiry the caller may set, in days (null: no cap)' }),
    }, { additionalProperties: false, description: 'What the policy lets the caller do' }),
    ...standardProblemResponses,
    502: problemResponse('Microsoft Graph failed while reading the names of the policy\'s groups and applications'),
  },
}
