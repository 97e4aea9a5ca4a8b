// The API's reply bodies as tests read them (`res.json<GuestDetail>()`): taken from the route
// schemas, so a test that reads a field the API does not answer fails the type check. Schemas
// that point to a shared one by $ref (Type.Ref) are typed by hand with the shared type.
import type { Static } from '@sinclair/typebox'
import type { listAppRoles, listApps, deleteAssignment } from '../../src/routes/apps/schemas.js'
import type { getAuditOperation, getReconciliation, listAuditEvents, verifyAuditLog } from '../../src/routes/audit/schemas.js'
import type { checkAuthorization, getMyPermissions } from '../../src/routes/authorization/schemas.js'
import type { addGroupMember, listGroupMembers, listGroups } from '../../src/routes/groups/schemas.js'
import type { getGuest, listGuests, resendInvitation, resetRedemption, revokeAccess } from '../../src/routes/guests/schemas.js'
import type { DryRunResult } from '../../src/plugins/dry-run.js'
import type { App, AppRoleAssignmentBody } from '../../src/schemas/directory.js'
import type { InvitationResult, OperationPartSchema } from '../../src/schemas/guest.js'
import type { FieldErrorSchema, Problem as ProblemBody } from '../../src/schemas/problem.js'

export type { Guest } from '../../src/schemas/guest.js'
export type { AuditEventBody } from '../../src/schemas/audit-event.js'

export type FieldError = Static<typeof FieldErrorSchema>
export type Problem = Omit<ProblemBody, 'errors'> & { errors?: FieldError[] }
export type OperationPart = Static<typeof OperationPartSchema>
export type InvitationReply = Omit<Static<typeof InvitationResult>, 'parts'> & { parts: OperationPart[] }
export type GuestPage = Static<typeof listGuests.response[200]>
export type GuestDetail = Static<typeof getGuest.response[200]>
export type RevokeReply = Omit<Static<typeof revokeAccess.response[200]>, 'parts'> & { parts: OperationPart[] }
export type ResendReply = Static<typeof resendInvitation.response[200]>
export type ResetRedemptionReply = Static<typeof resetRedemption.response[200]>
export type GroupPage = Static<typeof listGroups.response[200]>
export type MemberPage = Static<typeof listGroupMembers.response[200]>
export type MembershipReply = Static<typeof addGroupMember.response[200]>
export type AppPage = Omit<Static<typeof listApps.response[200]>, 'items'> & { items: App[] }
export type AppRolesReply = Omit<Static<typeof listAppRoles.response[200]>, 'app'> & { app: App }
export interface AssignmentReply { assignment: AppRoleAssignmentBody; changed: boolean; operationId: string }
export type UnassignReply = Static<typeof deleteAssignment.response[200]>
export type AuditPage = Static<typeof listAuditEvents.response[200]>
export type AuditOperationReply = Static<typeof getAuditOperation.response[200]>
export type AuditVerifyReply = Static<typeof verifyAuditLog.response[200]>
export type ReconciliationReply = Static<typeof getReconciliation.response[200]>
export type CheckReply = Static<typeof checkAuthorization.response[200]>
export type PermissionsReply = Static<typeof getMyPermissions.response[200]>
export type DryRunReply = Static<typeof DryRunResult>
