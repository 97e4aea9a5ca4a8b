import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from '../../schemas/enum.js'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'
import { MultilineText } from '../../schemas/text.js'

const RowCounts = Type.Object({
  pending: Type.Integer({ description: 'Not started yet' }),
  running: Type.Integer({ description: 'Under way (waiting for the Graph write budget, or at Graph)' }),
  succeeded: Type.Integer({ description: 'Invited (outcome partial: some groups or app roles failed)' }),
  failed: Type.Integer({ description: 'Refused (invalid row, policy, limits, existing user) or failed at Graph' }),
  cancelled: Type.Integer({ description: 'Not run: the job was cancelled first' }),
}, { additionalProperties: false })

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])

export const BulkJobSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  state: StringEnum(['queued', 'running', 'completed', 'cancelled']),
  dryRun: Type.Literal(false),
  format: Type.String({ description: 'text/csv or application/json' }),
  fileSha256: Type.String({ description: 'sha256 (hex) of the file as received (also in the job\'s audit row)' }),
  rowCount: Type.Integer(),
  submittedBy: Type.Object({ oid: Type.String(), name: Type.String() }),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Timestamp,
  finishedAt: Timestamp,
  cancelledAt: Timestamp,
  counts: RowCounts,
  ratePerMinute: Type.Union([Type.Number(), Type.Null()], { description: 'Rows finished per minute since the first row started' }),
  eta: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the rows left should be done, at that rate (before any row ran: at the invitation pace)' }),
  links: Type.Object({ self: Type.String(), events: Type.String(), results: Type.String(), cancel: Type.String() }),
}, { additionalProperties: false, description: 'A bulk invitation job and the counts of its rows by state' })

const Decision = Type.Object({
  action: Type.String(), subject: Type.String(), target: Type.Record(Type.String(), Type.Unknown()),
  allowed: Type.Boolean(), rule: Type.String(), reason: Type.String(),
})
const PlannedCall = Type.Object({ method: Type.String(), path: Type.String(), body: Type.Optional(Type.Unknown()) })

const RowError = {
  errorCode: Type.Union([Type.String(), Type.Null()], { description: 'validation_failed, duplicate_email, message_not_delivered, a policy rule\'s code, user_exists, graph_rejected, ...' }),
  errorField: Type.Union([Type.String(), Type.Null()], { description: 'The column (CSV: its bracketed key, e.g. inviteeEmail) or JSON field at fault' }),
  errorMessage: Type.Union([Type.String(), Type.Null()]),
}

export const BulkDryRunSchema = Type.Object({
  dryRun: Type.Literal(true),
  format: Type.String(),
  fileSha256: Type.String(),
  rowCount: Type.Integer(),
  rows: Type.Array(Type.Object({
    row: Type.Integer({ description: '1-based data row (the version line and the header are not counted)' }),
    email: Type.String(),
    status: StringEnum(['would-invite', 'failed']),
    ...RowError,
    decisions: Type.Array(Decision, { description: 'The row\'s policy questions and answers' }),
    graphCalls: Type.Array(PlannedCall, { description: 'The Graph writes the row would send' }),
  })),
}, { description: 'With ?dryRun=true: what each row would get; no job is created' })

export const BulkJsonBody = Type.Object({
  invitations: Type.Array(Type.Unknown({ description: 'The body of POST /v1/invitations (each row is checked on its own: a bad row does not refuse the file)' }),
    { minItems: 1, description: 'One invitation per row' }),
}, { additionalProperties: false })
export type BulkJsonBody = Static<typeof BulkJsonBody>

const CSV_DESCRIPTION = 'The Entra admin center\'s bulk invite template: a version line (version:v1.0), a header whose labels hold the keys [inviteeEmail] (required), [inviteRedirectURL], [sendEmail] (TRUE/FALSE), [customizedMessageBody] (refused when not empty: Entra does not deliver it), and optionally [displayName], [groups] (group ids separated by ;) and [appRoles] (appId/roleValue separated by ;). Labels may be translated; the bracketed keys count. Other columns and the template\'s "Example:" row are ignored.'

const JobParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'The job id' }) }, { additionalProperties: false })
export type JobParams = Static<typeof JobParams>

// Jobs live in guestgate's database: reading or cancelling one calls no Graph.
const noGraph = graphPermissions()
const jobNotFound = problemResponse('No job with this id was submitted by the caller')

export const submitBulkInvitations = {
  operationId: 'submitBulkInvitations',
  tags: ['bulk'],
  summary: 'Invite many guests as one job (admin center CSV or JSON)',
  description: 'Each row is validated on its own (a bad row is reported with its column and does not stop the others), then runs as the single invitation route would (POST /v1/invitations: the same policy, limits, audit rows and Graph write budget), paced below Graph\'s limits, acting for the submitter. Answers 202 with the job at once; follow it at Location, its events stream or its results. Needs the right to invite (the role\'s invitations policy); each row is still authorized on its own. With ?dryRun=true every row is checked (policy, existing users) and nothing is done.',
  body: {
    content: {
      'text/csv': { schema: MultilineText({ description: CSV_DESCRIPTION }) },
      'application/json': { schema: BulkJsonBody },
    },
  },
  // Each row is the single invitation route (with its optional groups and app roles).
  ...graphPermissions('User.Invite.All', 'User.Read.All', 'GroupMember.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All'),
  response: {
    202: {
      description: 'The job was accepted; its rows run in the background',
      headers: { Location: { type: 'string', description: 'The job: /v1/bulk/jobs/{id}' } },
      content: { 'application/json': { schema: Type.Union([BulkJobSchema, BulkDryRunSchema]) } },
    },
    ...standardProblemResponses,
    413: problemResponse('The file is too large (GUESTGATE_BULK_BODY_LIMIT_BYTES) or has too many rows (GUESTGATE_BULK_MAX_ROWS)'),
    415: problemResponse('The body is neither text/csv nor JSON'),
  },
}

export const getBulkJob = {
  operationId: 'getBulkJob',
  ...graphPermissions(),
  tags: ['bulk'],
  summary: 'A bulk job\'s progress',
  description: 'Counts of rows by state, the rate so far and the expected end. Only the submitter sees its jobs.',
  params: JobParams,
  ...noGraph,
  response: { 200: { ...BulkJobSchema, description: 'The job and its progress' }, ...standardProblemResponses, 404: jobNotFound },
}

export const bulkJobEvents = {
  operationId: 'streamBulkJobEvents',
  ...graphPermissions(),
  tags: ['bulk'],
  summary: 'A bulk job\'s progress as Server-Sent Events',
  description: 'text/event-stream: a `progress` event (the job, as GET /v1/bulk/jobs/{id} answers it) at once and whenever rows finish, then an `end` event when the job is completed or cancelled, and the stream closes.',
  params: JobParams,
  ...noGraph,
  produces: ['text/event-stream'],
  response: {
    200: { description: 'The event stream', content: { 'text/event-stream': { schema: Type.String() } } },
    ...standardProblemResponses,
    404: jobNotFound,
  },
}

export const ResultsQuery = Type.Object({
  format: StringEnum(['csv', 'ndjson'], { default: 'csv', description: 'csv: the admin center\'s columns first, then the result; ndjson: one JSON object per row' }),
}, { additionalProperties: false })
export type ResultsQuery = Static<typeof ResultsQuery>

export const bulkJobResults = {
  operationId: 'getBulkJobResults',
  ...graphPermissions(),
  tags: ['bulk'],
  summary: 'Per-row results of a bulk job (CSV or NDJSON)',
  description: 'Every row in file order: address, status, guest id, redeem URL, error code, column and message. Rows not finished yet show as pending or running. Streamed a page at a time.',
  params: JobParams,
  querystring: ResultsQuery,
  ...noGraph,
  produces: ['text/csv', 'application/x-ndjson'],
  response: {
    200: {
      description: 'One line per row',
      headers: { 'content-disposition': { type: 'string', description: 'attachment; filename="guestgate-bulk-<job id>.<csv|ndjson>"' } },
      content: { 'text/csv': { schema: Type.String() }, 'application/x-ndjson': { schema: Type.String() } },
    },
    ...standardProblemResponses,
    404: jobNotFound,
  },
}

const cancelDescription = 'Rows not started are cancelled; rows under way finish (their Graph write is already sent). Cancelling a finished job changes nothing. The cancellation is audited.'

export const cancelBulkJob = {
  operationId: 'cancelBulkJob',
  ...graphPermissions(),
  tags: ['bulk'],
  summary: 'Cancel a bulk job',
  description: cancelDescription,
  params: JobParams,
  ...noGraph,
  response: { 200: { ...BulkJobSchema, description: 'The job after the cancellation' }, ...standardProblemResponses, 404: jobNotFound },
}

export const deleteBulkJob = {
  ...cancelBulkJob,
  operationId: 'deleteBulkJob',
  ...graphPermissions(),
  summary: 'Cancel a bulk job (DELETE)',
  description: `The same as POST /v1/bulk/jobs/{id}/cancel. ${cancelDescription} The job and its results stay readable.`,
}
