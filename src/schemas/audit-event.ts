import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from './enum.js'
import { AUDIT_STATUSES } from '../audit/types.js'

export const AUDIT_DECISIONS = ['allowed', 'denied'] as const

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const AuditEventSchema = Type.Object({
  id: Type.String({ pattern: '^[0-9]+$', description: 'Position in the hash chain (increasing)' }),
  occurredAt: Type.String({ format: 'date-time' }),
  operationId: Type.String({ format: 'uuid', description: 'Shared by the intent and outcome rows of one operation' }),
  requestId: Type.String(),
  correlationId: Type.String({ description: 'Sent to Graph as client-request-id' }),
  actor: Type.Object({
    oid: Type.String(), name: Type.String(), tenantId: Type.String(), roles: Type.Array(Type.String()),
  }, { additionalProperties: false }),
  action: Type.String({ description: 'e.g. invitation.invite, guest.delete, groupMembership.addMember' }),
  target: Type.Object({ type: Type.String(), id: Nullable(Type.String()), displayName: Nullable(Type.String()) }, { additionalProperties: false }),
  decision: StringEnum(AUDIT_DECISIONS),
  status: StringEnum(AUDIT_STATUSES),
  ruleId: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  policyVersion: Type.String(),
  requestSummary: Type.Object({}, { additionalProperties: true, description: 'What was asked, without secrets' }),
  graphStatus: Type.Union([Type.Integer(), Type.Null()]),
  graphRequestId: Nullable(Type.String()),
  graphErrorCode: Nullable(Type.String()),
  message: Nullable(Type.String()),
  prevHash: Nullable(Type.String()),
  hash: Type.String(),
}, { $id: 'AuditEvent', additionalProperties: false })
export type AuditEventBody = Static<typeof AuditEventSchema>
export const AuditEventRef = Type.Unsafe<AuditEventBody>(Type.Ref('AuditEvent'))
