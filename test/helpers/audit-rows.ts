// Reads the audit table directly, as a security team's SQL would: tests check what was
// committed, not what the API says it committed.
import pg from 'pg'

export interface AuditRow {
  id: string
  operation_id: string
  correlation_id: string
  action: string
  status: string
  decision: string
  rule_id: string | null
  reason: string | null
  policy_version: string
  actor_oid: string
  target_type: string
  target_id: string | null
  graph_status: number | null
  graph_error_code: string | null
  graph_request_id: string | null
  request_summary: Record<string, unknown>
}

export async function auditRows(connectionString: string, where = 'true', params: unknown[] = []): Promise<AuditRow[]> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    const { rows } = await client.query<AuditRow>(`SELECT * FROM audit_events WHERE ${where} ORDER BY id`, params)
    return rows.map((r) => ({ ...r, id: String(r.id) }))
  } finally {
    await client.end()
  }
}
