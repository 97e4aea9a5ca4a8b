import { Type, type Static } from '@sinclair/typebox'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { ExpiresAt } from '../lifecycle/schemas.js'
import { AppRoleAssignmentRef, AppRoleSchema, AppSchema } from '../../schemas/directory.js'
import { SearchPageQuery } from '../../schemas/paging.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'

const graphFailed = { 502: problemResponse('Microsoft Graph failed') }
const noApp = { 404: problemResponse('No such application') }

// The sandbox's DocuSign app, whose roles its policy lets Apps.AssignRoles grant.
const AppId = Type.String({ format: 'uuid', description: 'Service principal id', examples: ['a0000000-0000-4000-8000-000000000001'] })
export const AppParams = Type.Object({ appId: AppId }, { additionalProperties: false })

export type ListAppsQuery = Static<typeof SearchPageQuery>

export const listApps = {
  operationId: 'listApps',
  tags: ['apps'],
  summary: 'Search enterprise applications (for pickers)',
  querystring: SearchPageQuery,
  ...graphPermissions('Application.Read.All'),
  response: {
    200: Type.Object({ items: Type.Array(Type.Ref('App')), nextCursor: Type.Optional(Type.String()) }, { additionalProperties: false, description: 'One page of applications' }),
    ...standardProblemResponses, ...graphFailed,
  },
}

export const listAppRoles = {
  operationId: 'listAppRoles',
  tags: ['apps'],
  summary: 'Roles of an application that a guest can hold',
  description: 'Only enabled roles whose allowed member types include User. canGrant says whether the policy lets the caller grant it.',
  params: AppParams,
  ...graphPermissions('Application.Read.All'),
  response: {
    200: Type.Object({
      app: Type.Ref('App'),
      items: Type.Array(Type.Composite([AppRoleSchema, Type.Object({ canGrant: Type.Boolean() })], { additionalProperties: false })),
    }, { additionalProperties: false, description: 'The application and the roles a guest can hold in it' }),
    ...standardProblemResponses, ...noApp, ...graphFailed,
  },
}

export const listAssignments = {
  operationId: 'listAppRoleAssignments',
  tags: ['apps'],
  summary: 'Who holds roles in an application',
  params: AppParams,
  querystring: Type.Object({ principalId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false }),
  ...graphPermissions('Application.Read.All'),
  response: {
    200: Type.Object({ items: Type.Array(AppRoleAssignmentRef) }, { additionalProperties: false, description: 'The application\'s role assignments' }),
    ...standardProblemResponses, ...noApp, ...graphFailed,
  },
}

export const CreateAssignmentBody = Type.Object({
  principalId: Type.String({ format: 'uuid', description: 'The guest' }),
  appRoleId: Type.Optional(Type.String({ format: 'uuid' })),
  appRole: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The role by value (DocuSign.Sender), display name (DocuSign Sender, any case) or id; instead of appRoleId' })),
  expiresAt: Type.Optional(Type.String({ ...ExpiresAt, description: 'When the assignment ends: the expiry scheduler then takes the role away. Within the caller\'s role expiry.maxDays; absent, a new assignment gets that cap (none when the role has none), and an existing one keeps its expiry. An earlier date than the one set, or a date on an assignment without one, takes the role away sooner: it needs the right to unassign it (403 otherwise).' })),
}, { additionalProperties: false, examples: [{ principalId: '00000000-0000-4000-8000-000000000000', appRole: 'DocuSign.Sender' }] })
export type CreateAssignmentBody = Static<typeof CreateAssignmentBody>

const AssignmentResult = Type.Object({
  assignment: AppRoleAssignmentRef,
  changed: Type.Boolean({ description: 'false (and 200) when the guest already held the role: the existing assignment' }),
  operationId: Type.String({ format: 'uuid' }),
}, { additionalProperties: false })

export const createAssignment = {
  operationId: 'createAppRoleAssignment',
  tags: ['apps'],
  summary: 'Grant a guest an app role (idempotent)',
  description: 'The role by value, display name (any case) or id. A role the application does not have (or that is disabled, or for applications only) is a 422 listing the roles a guest can hold; a role the policy does not let the caller grant is a 403 naming those it may grant. Granting a role the guest already holds returns the existing assignment (200). Microsoft Graph\'s and guestgate\'s own applications are refused whatever the policy says.',
  params: AppParams,
  body: CreateAssignmentBody,
  ...graphPermissions('User.Read.All', 'Application.Read.All', 'AppRoleAssignment.ReadWrite.All'),
  response: {
    201: { ...AssignmentResult, description: 'The role was granted' },
    200: { ...AssignmentResult, description: 'The guest already held the role: the existing assignment (changed false)' },
    ...standardProblemResponses,
    404: problemResponse('No such application or guest'),
    422: problemResponse('The role does not exist, is ambiguous, is disabled or cannot be held by users (the valid ones are listed by name and value), or expiresAt is in the past or beyond the policy\'s cap'),
    ...graphFailed,
  },
}

export const deleteAssignment = {
  operationId: 'deleteAppRoleAssignment',
  tags: ['apps'],
  summary: 'Take an app role away (idempotent)',
  params: Type.Object({ appId: AppId, assignmentId: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false }),
  ...graphPermissions('User.Read.All', 'Application.Read.All', 'AppRoleAssignment.ReadWrite.All'),
  response: {
    200: Type.Object({ assignmentId: Type.String(), changed: Type.Boolean(), operationId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false, description: 'Done; changed false when the assignment was already gone' }),
    ...standardProblemResponses, ...noApp, ...graphFailed,
    409: problemResponse('The assignment belongs to a user who is not a guest (not_a_guest): guestgate only manages guests\' access'),
  },
}

export { AppSchema }
