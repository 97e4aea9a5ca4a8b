import { Type, type Static } from '@sinclair/typebox'
import type { AuditEventBody } from '../../schemas/audit-event.js'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { StringEnum } from '../../schemas/enum.js'
import { AUDIT_DECISIONS } from '../../schemas/audit-event.js'
import { AuditEventRef } from '../../schemas/audit-event.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'
import { AUDIT_STATUSES } from '../../audit/types.js'
import { CANONICAL_KEYWORD } from '../../schemas/text.js'

export const AuditFilterQuery = Type.Object({
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Actor object id or name' })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  // Target ids are object ids, stored in lower case (ids are canonical from the edge on).
  targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, [CANONICAL_KEYWORD]: 'lowercase',
    description: 'Object id of the target (a guest\'s id), in any case' })),
  decision: Type.Optional(StringEnum(AUDIT_DECISIONS)),
  status: Type.Optional(StringEnum(AUDIT_STATUSES)),
  operationId: Type.Optional(Type.String({ format: 'uuid' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive lower bound' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive upper bound' })),
  unsettled: Type.Optional(Type.Boolean({ description: 'true: only intents that no outcome row follows yet (in flight, or waiting for the reconciler)' })),
}, { additionalProperties: false })

const ListQuery = Type.Composite([AuditFilterQuery, Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
})], { additionalProperties: false })
export type ListQuery = Static<typeof ListQuery>

const ExportQuery = Type.Composite([AuditFilterQuery, Type.Object({
  format: StringEnum(['ndjson', 'csv'], { default: 'ndjson' }),
})], { additionalProperties: false })
export type ExportQuery = Static<typeof ExportQuery>

const auditErrors = { ...standardProblemResponses }
// The audit log is guestgate's own database: no Graph call.
const noGraph = graphPermissions()

export const listAuditEvents = {
  operationId: 'listAuditEvents',
  tags: ['audit'],
  summary: 'Search the audit log',
  description: 'Newest first. Keyset pagination: pages neither skip nor repeat rows while new rows arrive.',
  querystring: ListQuery,
  ...noGraph,
  response: {
    200: Type.Object({ items: Type.Array(AuditEventRef), nextCursor: Type.Optional(Type.String()) }, { additionalProperties: false, description: 'One page of events, newest first' }),
    ...auditErrors,
  },
}

export const getAuditEvent = {
  operationId: 'getAuditEvent',
  tags: ['audit'],
  summary: 'Get one audit event',
  params: Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,18}$' }) }, { additionalProperties: false }),
  ...noGraph,
  response: { 200: Type.Unsafe<AuditEventBody>(Type.Ref('AuditEvent', { description: 'The event' })), ...auditErrors, 404: problemResponse('No such event') },
}

export const getAuditOperation = {
  operationId: 'getAuditOperation',
  tags: ['audit'],
  summary: 'The rows of one operation',
  description: 'Intent and outcome rows (and denials) that share an operation id, in chain order.',
  params: Type.Object({ operationId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
  ...noGraph,
  response: {
    200: Type.Object({ operationId: Type.String(), events: Type.Array(AuditEventRef) }, { additionalProperties: false, description: 'The operation\'s rows in chain order' }),
    ...auditErrors,
    404: problemResponse('No rows with this operation id'),
  },
}

export const exportAuditEvents = {
  operationId: 'exportAuditEvents',
  tags: ['audit'],
  summary: 'Export the audit log (NDJSON or CSV, streamed)',
  description: 'Same filters as the search, every matching row, newest first, streamed from the database in constant memory. The export is itself audited.',
  querystring: ExportQuery,
  ...noGraph,
  produces: ['application/x-ndjson', 'text/csv'],
  response: {
    200: {
      description: 'The rows, one per line (a CSV header line first)',
      headers: { 'content-disposition': { type: 'string', description: 'attachment; filename="guestgate-audit-<time>.<ndjson|csv>"' } },
      content: {
        'application/x-ndjson': { schema: Type.String() },
        'text/csv': { schema: Type.String() },
      },
    },
    ...auditErrors,
  },
}

export const verifyAuditLog = {
  operationId: 'verifyAuditLog',
  tags: ['audit'],
  summary: 'Verify the hash chain',
  description: 'Recomputes every row\'s hash and link (optionally in an id range). firstInvalid names the first row that was changed, or follows a deleted row.',
  querystring: Type.Object({
    fromId: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$' })),
    toId: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$' })),
  }, { additionalProperties: false }),
  ...noGraph,
  response: {
    200: Type.Object({
      valid: Type.Boolean(),
      checked: Type.Integer(),
      firstInvalid: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Optional(Type.String()),
    }, { additionalProperties: false, description: 'The result of the check (valid false names the first bad row)' }),
    ...auditErrors,
  },
}

export const ReconcilerRunSchema = Type.Object({
  replica: Type.String({ description: 'host:pid of the replica that ran it' }),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.String({ format: 'date-time' }),
  examined: Type.Integer({ description: 'Intents old enough to settle that had no outcome' }),
  present: Type.Integer({ description: 'Settled: Graph shows the change was made' }),
  absent: Type.Integer({ description: 'Settled: Graph shows the change was not made' }),
  unknown: Type.Integer({ description: 'Settled: Graph keeps nothing that shows it (an invitation e-mail)' }),
  unreadable: Type.Integer({ description: 'Graph could not be read for them: left for the next pass' }),
  unsettled: Type.Integer({ description: 'Intents without outcome after the pass (too recent, or unreadable)' }),
  watermark: Type.String({ description: 'Every intent at or below this audit id has an outcome' }),
  error: Type.Union([Type.String(), Type.Null()]),
}, { additionalProperties: false })

export const getReconciliation = {
  operationId: 'getAuditReconciliation',
  tags: ['audit'],
  summary: 'The reconciler: its last pass and the intents still without outcome',
  description: 'A write whose answer from Microsoft Graph was lost (timeout, crash, a 5xx after the write may have happened) is settled by reading Graph, never by sending it again. The reconciler runs at start and on an interval, in one replica at a time, and appends a `reconciled` outcome row per settled intent.',
  ...noGraph,
  response: {
    200: Type.Object({
      lastRun: Type.Union([ReconcilerRunSchema, Type.Null()]),
      unsettled: Type.Integer({ description: 'Intents without outcome right now' }),
    }, { additionalProperties: false, description: 'The last pass (null before the first) and the intents still open' }),
    ...auditErrors,
  },
}
