// Line formats for a streamed audit export. Each function returns one whole line, terminator
// included, so an export is CSV_HEADER followed by toCsvLine(event) for each event of
// AuditStore.stream(), or toNdjsonLine(event) for each event.
//
// NDJSON is the exact record (every field as stored, occurredAt with microseconds, hashes), the
// format to archive or to re-verify. CSV is for people and spreadsheets (src/csv.ts: a cell a
// spreadsheet would run as a formula gets a leading apostrophe, so it differs from the stored value).
import { csvLine } from '../csv.js'
import type { AuditEvent } from './types.js'

const CSV_COLUMNS: ReadonlyArray<readonly [string, (event: AuditEvent) => string | number | null | undefined]> = [
  ['id', (event) => event.id],
  ['occurredAt', (event) => event.occurredAt],
  ['operationId', (event) => event.operationId],
  ['requestId', (event) => event.requestId],
  ['correlationId', (event) => event.correlationId],
  ['actorOid', (event) => event.actor.oid],
  ['actorName', (event) => event.actor.name],
  ['actorTenantId', (event) => event.actor.tenantId],
  ['actorRoles', (event) => event.actor.roles.join(' ')],
  ['action', (event) => event.action],
  ['targetType', (event) => event.target.type],
  ['targetId', (event) => event.target.id],
  ['targetDisplayName', (event) => event.target.displayName],
  ['decision', (event) => event.decision],
  ['status', (event) => event.status],
  ['ruleId', (event) => event.ruleId],
  ['reason', (event) => event.reason],
  ['policyVersion', (event) => event.policyVersion],
  ['requestSummary', (event) => JSON.stringify(event.requestSummary)],
  ['graphStatus', (event) => event.graphStatus],
  ['graphRequestId', (event) => event.graphRequestId],
  ['graphErrorCode', (event) => event.graphErrorCode],
  ['message', (event) => event.message],
  ['prevHash', (event) => event.prevHash],
  ['hash', (event) => event.hash],
]

export const CSV_HEADER = CSV_COLUMNS.map(([name]) => name).join(',') + '\r\n'

export function toCsvLine (event: AuditEvent): string {
  return csvLine(CSV_COLUMNS.map(([, read]) => read(event)))
}

export function toNdjsonLine (event: AuditEvent): string {
  return JSON.stringify(event) + '\n'
}

export type ExportFormat = 'ndjson' | 'csv'

/**
 * The text of an export, CSV header included, in chunks of up to `linesPerChunk` lines: one
 * stream write per line costs more than formatting the line. For example
 * `reply.send(Readable.from(exportChunks(store.stream(filter), 'csv')))`.
 */
export async function * exportChunks (events: AsyncIterable<AuditEvent>, format: ExportFormat, linesPerChunk = 500): AsyncGenerator<string> {
  const toLine = format === 'csv' ? toCsvLine : toNdjsonLine
  let chunk = format === 'csv' ? CSV_HEADER : ''
  let lines = 0
  for await (const event of events) {
    chunk += toLine(event)
    if (++lines === linesPerChunk) {
      yield chunk
      chunk = ''
      lines = 0
    }
  }
  if (chunk !== '') yield chunk
}
