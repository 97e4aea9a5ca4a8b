// Schemas with an $id: registered once at the root, referenced from routes, named components
// in the OpenAPI document.
import { AuditEventSchema } from './audit-event.js'
import { AppRoleAssignmentSchema, AppRoleSchema, AppSchema, GroupSchema } from './directory.js'
import { GuestSchema, InvitationResult, OperationPartSchema, SponsorSchema } from './guest.js'
import { FieldErrorSchema, ProblemSchema } from './problem.js'

export const sharedSchemas = [FieldErrorSchema, ProblemSchema, GroupSchema, AppSchema, AppRoleSchema, AppRoleAssignmentSchema, GuestSchema, SponsorSchema, OperationPartSchema, InvitationResult, AuditEventSchema]
