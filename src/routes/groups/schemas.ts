import { Type, type Static } from '@sinclair/typebox'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { ExpiresAt } from '../lifecycle/schemas.js'
import { GroupSchema } from '../../schemas/directory.js'
import { GuestRef } from '../../schemas/guest.js'
import { pageFields, SearchPageQuery } from '../../schemas/paging.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'

const graphFailed = { 502: problemResponse('Microsoft Graph failed') }

// The sandbox's Developers group, which its policy lets Groups.ManageMembers manage.
const GroupId = Type.String({ format: 'uuid', examples: ['d0000000-0000-4000-8000-000000000001'] })
export const GroupParams = Type.Object({ groupId: GroupId }, { additionalProperties: false })
export const MemberParams = Type.Object({ groupId: GroupId, userId: Type.String({ format: 'uuid', description: 'Object id of the guest' }) }, { additionalProperties: false })
export type MemberParams = Static<typeof MemberParams>

export type ListGroupsQuery = Static<typeof SearchPageQuery>

export const listGroups = {
  operationId: 'listGroups',
  tags: ['groups'],
  summary: 'Search groups (for pickers)',
  description: 'canAddGuests says whether the policy lets the caller add guests to the group.',
  querystring: SearchPageQuery,
  ...graphPermissions('GroupMember.Read.All'),
  response: {
    200: Type.Object({
      items: Type.Array(Type.Composite([Type.Omit(GroupSchema, []), Type.Object({ canAddGuests: Type.Boolean() })], { additionalProperties: false })),
      nextCursor: Type.Optional(Type.String()),
    }, { additionalProperties: false, description: 'One page of groups' }),
    ...standardProblemResponses, ...graphFailed,
  },
}

export const ListMembersQuery = Type.Object({
  guestsOnly: Type.Optional(Type.Literal(true, { deprecated: true, description: 'Always true: only guests are listed. false is refused.' })),
  ...pageFields,
}, { additionalProperties: false })
export type ListMembersQuery = Static<typeof ListMembersQuery>

export const listGroupMembers = {
  operationId: 'listGroupMembers',
  tags: ['groups'],
  summary: 'Guests in a group',
  description: 'Lists the guests among the group\'s direct members; members of the directory (employees) are never listed, whoever asks. Allowed to a role that may read guests (it sees each guest\'s groups anyway) and to a role that manages the group in the policy file; anyone else gets 403 with the rule.',
  params: GroupParams,
  querystring: ListMembersQuery,
  ...graphPermissions('GroupMember.Read.All'),
  response: {
    200: Type.Object({ items: Type.Array(GuestRef), nextCursor: Type.Optional(Type.String()) }, { additionalProperties: false, description: 'One page of the group\'s guests' }),
    ...standardProblemResponses, 404: problemResponse('No such group'), ...graphFailed,
  },
}

const MembershipResult = Type.Object({
  groupId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  changed: Type.Boolean({ description: 'false when the guest already was (or was not) a member: nothing changed' }),
  operationId: Type.String({ format: 'uuid' }),
}, { additionalProperties: false, description: 'Done; changed says whether anything had to change' })

const membershipResponses = {
  200: MembershipResult,
  ...standardProblemResponses,
  404: problemResponse('No such group or guest'),
  ...graphFailed,
}

export const AddMemberBody = Type.Object({
  expiresAt: Type.Optional(Type.String({ ...ExpiresAt, description: 'When the membership ends: the expiry scheduler then removes the guest from the group. Within the caller\'s role expiry.maxDays; absent, a new membership gets that cap (none when the role has none), and an existing one keeps its expiry. An earlier date than the one set, or a date on a membership without one, takes the membership away sooner: it needs the right to remove the guest from the group (403 otherwise).' })),
}, { additionalProperties: false })
export type AddMemberBody = Static<typeof AddMemberBody>

export const addGroupMember = {
  operationId: 'addGroupMember',
  tags: ['groups'],
  summary: 'Add a guest to a group (idempotent)',
  description: 'Role-assignable and dynamic groups are refused (403 with the rule) whatever the policy file says. An optional expiresAt ends the membership at that time.',
  params: MemberParams,
  ...graphPermissions('User.Read.All', 'GroupMember.ReadWrite.All'),
  body: Type.Optional(AddMemberBody),
  response: { ...membershipResponses, 422: problemResponse('expiresAt is in the past or beyond the policy\'s cap (the field and the cap are named)') },
}

export const removeGroupMember = {
  operationId: 'removeGroupMember',
  tags: ['groups'],
  summary: 'Remove a guest from a group (idempotent)',
  params: MemberParams,
  ...graphPermissions('User.Read.All', 'GroupMember.ReadWrite.All'),
  response: membershipResponses,
}
