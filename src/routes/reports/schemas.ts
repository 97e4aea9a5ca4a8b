import { graphPermissions } from '../../plugins/openapi-contract.js'
import { Type, type Static } from '@sinclair/typebox'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'
import { REPORTS } from '../../operations/reports.js'

const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: the same rows as text/csv (or send Accept: text/csv)' }))
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])
const base = { id: Type.String(), email: Nullable(Type.String()), displayName: Nullable(Type.String()) }

const reportOf = (row: ReturnType<typeof Type.Object>, parameters: ReturnType<typeof Type.Object>) => ({
  description: 'The report (JSON), or the same rows as CSV',
  headers: { 'content-disposition': { type: 'string', description: 'With CSV only: attachment; filename="guestgate-<report>-<time>.csv"' } },
  content: {
    'application/json': {
      schema: Type.Object({
        report: Type.String(),
        generatedAt: Type.String({ format: 'date-time' }),
        parameters,
        count: Type.Integer(),
        columns: Type.Array(Type.String()),
        items: Type.Array(row),
      }, { additionalProperties: false }),
    },
    'text/csv': { schema: Type.String({ description: 'Header line, then one line per guest (RFC 4180)' }) },
  },
})

const graphFailed = { 502: problemResponse('Microsoft Graph failed'), 503: problemResponse('Microsoft Graph is busy; or the database is unavailable') }

export const PendingQuery = Type.Object({
  olderThanDays: Type.Integer({ minimum: 0, maximum: 3650, default: 30, description: 'Invitations pending at least this many days' }),
  format: Format,
}, { additionalProperties: false })
export type PendingQuery = Static<typeof PendingQuery>

export const pendingInvitations = {
  operationId: 'reportPendingInvitations',
  ...graphPermissions('User.Read.All'),
  tags: ['reports'],
  summary: 'Invitations pending for more than N days',
  description: 'Guests whose externalUserState is still PendingAcceptance, with when the invitation was sent (externalUserStateChangeDateTime, else createdDateTime), oldest first.',
  querystring: PendingQuery,
  produces: ['application/json', 'text/csv'],
  response: {
    200: reportOf(Type.Object({ ...base, invitedAt: Type.String({ format: 'date-time' }), pendingDays: Type.Integer() }, { additionalProperties: false }),
      Type.Object({ olderThanDays: Type.Integer() }, { additionalProperties: false })),
    ...standardProblemResponses, ...graphFailed,
  },
}

export const WithoutAccessQuery = Type.Object({ format: Format }, { additionalProperties: false })
export type WithoutAccessQuery = Static<typeof WithoutAccessQuery>

export const guestsWithoutAccess = {
  operationId: 'reportGuestsWithoutAccess',
  ...graphPermissions('User.Read.All', 'GroupMember.Read.All', 'Application.Read.All'),
  tags: ['reports'],
  summary: 'Guests without any access guestgate manages',
  description: 'Guests who are in none of the groups and hold no role on any of the applications the policy file lists.',
  querystring: WithoutAccessQuery,
  produces: ['application/json', 'text/csv'],
  response: {
    200: reportOf(Type.Object({ ...base, externalUserState: Nullable(Type.String()), createdDateTime: Nullable(Type.String({ format: 'date-time' })) }, { additionalProperties: false }),
      Type.Object({}, { additionalProperties: false })),
    ...standardProblemResponses, ...graphFailed,
  },
}

export const InactiveQuery = Type.Object({
  days: Type.Integer({ minimum: 1, maximum: 3650, default: 90, description: 'No sign-in (interactive, non-interactive or successful) for at least this many days' }),
  format: Format,
}, { additionalProperties: false })
export type InactiveQuery = Static<typeof InactiveQuery>

export const inactiveGuests = {
  operationId: 'reportInactiveGuests',
  ...graphPermissions('User.Read.All', 'AuditLog.Read.All'),
  tags: ['reports'],
  summary: 'Guests inactive for N days',
  description: 'From signInActivity, which needs a Microsoft Entra ID P1 or P2 licence and AuditLog.Read.All: a tenant without the licence gets 409 licence_required. A guest who never signed in counts from its creation. Graph allows 10 such reads a minute.',
  querystring: InactiveQuery,
  produces: ['application/json', 'text/csv'],
  response: {
    200: reportOf(Type.Object({
      ...base,
      lastActivityAt: Nullable(Type.String({ format: 'date-time' })),
      neverSignedIn: Type.Boolean(),
      inactiveDays: Type.Integer(),
      lastSignInDateTime: Nullable(Type.String({ format: 'date-time' })),
      lastNonInteractiveSignInDateTime: Nullable(Type.String({ format: 'date-time' })),
      lastSuccessfulSignInDateTime: Nullable(Type.String({ format: 'date-time' })),
    }, { additionalProperties: false }), Type.Object({ days: Type.Integer() }, { additionalProperties: false })),
    ...standardProblemResponses,
    409: problemResponse('licence_required: the tenant has no Microsoft Entra ID P1/P2 licence, so sign-in activity cannot be read'),
    ...graphFailed,
  },
}

export const CleanupParams = Type.Object({ report: Type.Union(REPORTS.map((r) => Type.Literal(r))) }, { additionalProperties: false })
export type CleanupParams = Static<typeof CleanupParams>

export const CleanupQuery = Type.Object({
  olderThanDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650, description: 'pending-invitations: as in the report' })),
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'inactive-guests: as in the report' })),
}, { additionalProperties: false })
export type CleanupQuery = Static<typeof CleanupQuery>

export const CleanupBody = Type.Object({
  action: Type.Union([Type.Literal('resend'), Type.Literal('revoke'), Type.Literal('delete')], {
    description: 'resend: invite again (pending-invitations only); revoke: take every group and app role away (revoke-access); delete: delete the guest',
  }),
  ids: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'Only these guests of the report (default: all of it)' })),
}, { additionalProperties: false })
export type CleanupBody = Static<typeof CleanupBody>

export const cleanup = {
  operationId: 'cleanupFromReport',
  ...graphPermissions('User.Invite.All', 'User.ReadWrite.All', 'GroupMember.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All'),
  tags: ['reports'],
  summary: 'Act on a report: resend, revoke or delete',
  description: 'Recomputes the report, then runs the action on each of its guests (or the listed ones) through the same operation as the single route (resend-invitation, revoke-access, DELETE guest): each is decided by the policy and audited on its own. Safety gate: a revoke or delete of more guests than the policy file\'s cleanup.maxRemovalsPerRun is refused as a whole (409 cleanup_limit_exceeded with the list); nothing is done.',
  params: CleanupParams,
  querystring: CleanupQuery,
  body: CleanupBody,
  response: {
    200: Type.Object({
      report: Type.String(),
      action: Type.String(),
      operationId: Type.String({ format: 'uuid', description: 'The clean-up run\'s own audit row' }),
      outcome: Type.Union([Type.Literal('complete'), Type.Literal('partial')]),
      results: Type.Array(Type.Object({
        guestId: Type.String(),
        status: Type.Union([Type.Literal('succeeded'), Type.Literal('partial'), Type.Literal('failed')]),
        operationId: Type.Optional(Type.String()),
        error: Type.Optional(Type.Object({ status: Type.Integer(), code: Type.String(), detail: Type.String() }, { additionalProperties: false })),
      }, { additionalProperties: false })),
    }, { additionalProperties: false, description: 'What the clean-up did to each guest (complete, or partial when one failed)' }),
    ...standardProblemResponses,
    409: problemResponse('cleanup_limit_exceeded: more removals than the policy allows in one run (the list is in guests; nothing was done); or licence_required'),
    422: problemResponse('An id is not in the report, or the action does not apply to this report'),
    ...graphFailed,
  },
}
