// A bulk invitation file, as rows: the Entra admin center's "Bulk invite" CSV (a version line,
// then headers whose labels are translated but whose bracketed keys are not:
// https://learn.microsoft.com/en-us/entra/external-id/tutorial-bulk-invite), or JSON. Each row
// becomes the single route's body and is checked by the single route's own rules (its schema,
// the invitable-address rule, the refusal of custom messages); a bad row is reported with the
// column it came from and does not stop the others. The whole file is refused (400) only when
// it cannot be read as rows at all.
import { createRequire } from 'node:module'
import { badRequest, ProblemError } from '../errors.js'
import { CreateInvitationBody } from '../routes/invitations/schemas.js'
import { invitableEmail } from '../schemas/email-address.js'
import { createValidatorCompiler } from '../validation.js'
import { refuseCustomMessage, type InviteGuestInput } from './invite-guest.js'

export interface RowError {
  /** validation_failed, message_not_delivered, duplicate_email */
  code: string
  /** The column (CSV: its bracketed key) or JSON field the error is about. */
  field: string
  message: string
}

export interface BulkRow {
  /** 1-based, counting data rows only (not the version line nor the header). */
  number: number
  /** The address as written (for the result file), even when invalid. */
  email: string
  /** The single route's body, when the row is valid. */
  input: InviteGuestInput | null
  error: RowError | null
}

/** The admin center's keys and the optional columns guestgate adds, as invitation fields. */
export const CSV_COLUMNS = {
  inviteeEmail: 'email',
  inviteRedirectURL: 'redirectUrl',
  sendEmail: 'sendEmail',
  customizedMessageBody: 'message',
  displayName: 'displayName',
  groups: 'groups',
  appRoles: 'appRoles',
} as const satisfies Record<string, keyof InviteGuestInput>
type CsvKey = keyof typeof CSV_COLUMNS

const validateBody = createValidatorCompiler()({ schema: CreateInvitationBody, httpPart: 'body', method: 'POST', url: '/v1/bulk/invitations' }) as
  ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> | null }

/** Raw values of one row, by invitation field, and how each field is named to the user. */
interface RawRow {
  values: Record<string, unknown>
  fieldName: (field: string) => string
}

const PREFIX = /^(email|redirectUrl|sendEmail|message|displayName|groups|appRoles)/

function checkRow(number: number, raw: RawRow, seen: Map<string, number>): BulkRow {
  const email = typeof raw.values.email === 'string' ? raw.values.email : ''
  const fail = (code: string, field: string, message: string): BulkRow =>
    ({ number, email, input: null, error: { code, field: raw.fieldName(field), message } })
  if (email === '') return fail('validation_failed', 'email', 'is required')
  // The schema works on a copy: it lower-cases ids and fills defaults.
  const body = structuredClone(raw.values)
  if (!validateBody(body)) {
    const first = validateBody.errors?.[0]
    const path = first?.instancePath.replace(/^\//, '') ?? ''
    const extra = first?.params?.additionalProperty
    const field = typeof extra === 'string' ? extra : path
    const top = PREFIX.exec(field)?.[1] ?? field
    return fail('validation_failed', top, `${field === top ? '' : `${field.slice(top.length + 1)}: `}${first?.message ?? 'is not valid'}`)
  }
  const input = body as unknown as InviteGuestInput
  try {
    input.email = invitableEmail(input.email, raw.fieldName('email'))
    refuseCustomMessage(input.message, raw.fieldName('message'))
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error
    const field = error.extras.errors?.[0]
    return { number, email, input: null, error: { code: error.code, field: field?.field ?? raw.fieldName('email'), message: field?.message ?? error.detail } }
  }
  const first = seen.get(input.email)
  if (first !== undefined) return fail('duplicate_email', 'email', `is also on row ${first}: each address is invited once`)
  seen.set(input.email, number)
  return { number, email, input, error: null }
}

// Loaded on the first CSV file, not at every start (the CommonJS build: only its messages are read).
const parse = (text: string, options: import('csv-parse/sync').Options): string[][] =>
  (createRequire(import.meta.url)('csv-parse/sync') as typeof import('csv-parse/sync')).parse(text, options)

const splitList = (text: string) => text.split(';').map((s) => s.trim()).filter((s) => s !== '')

/** Parses the admin center's CSV. Extra columns are ignored, as the admin center ignores them. */
export function rowsOfCsv(text: string, maxRows: number): BulkRow[] {
  let records: string[][]
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true })
  } catch (error) {
    throw badRequest(`The file is not CSV: ${(error as Error).message}`, [{ field: 'body', message: 'is not CSV' }])
  }
  const [version, header, ...data] = records
  if (!version || !/^version:/i.test(version[0] ?? '')) {
    throw badRequest('The first line must be the template\'s version line (e.g. "version:v1.0"), as in the Entra admin center\'s bulk invite template.',
      [{ field: 'body/line 1', message: 'is not a version line' }])
  }
  const keys: Array<CsvKey | null> = (header ?? []).map((label) => {
    const key = /\[([A-Za-z]+)\]/.exec(label)?.[1]
    return key !== undefined && Object.hasOwn(CSV_COLUMNS, key) ? key as CsvKey : null
  })
  if (!keys.includes('inviteeEmail')) {
    throw badRequest('The second line must be the header, with a column whose label holds [inviteeEmail] (labels may be translated; the bracketed keys may not).',
      [{ field: 'body/line 2', message: 'has no [inviteeEmail] column' }])
  }
  // The template's sample row ("Example: ...") is not an invitation.
  const rows = data.filter((record) => !/^example:/i.test(record[0] ?? ''))
  tooMany(rows.length, maxRows)
  if (rows.length === 0) throw badRequest('The file has no rows to invite.', [{ field: 'body', message: 'has no data rows' }])
  const seen = new Map<string, number>()
  const fieldName = (field: string) => (Object.entries(CSV_COLUMNS).find(([, f]) => f === field)?.[0] ?? field)
  return rows.map((record, i) => {
    const values: Record<string, unknown> = {}
    let listError: RowError | null = null
    keys.forEach((key, column) => {
      const cell = record[column] ?? ''
      if (key === null || cell === '') return
      const field = CSV_COLUMNS[key]
      if (field === 'sendEmail') {
        values.sendEmail = /^true$/i.test(cell) ? true : /^false$/i.test(cell) ? false : cell
      } else if (field === 'groups') {
        values.groups = splitList(cell)
      } else if (field === 'appRoles') {
        values.appRoles = splitList(cell).map((pair) => {
          const slash = pair.indexOf('/')
          if (slash <= 0) listError ??= { code: 'validation_failed', field: key, message: `"${pair}" is not appId/roleValue` }
          return { appId: pair.slice(0, slash), appRole: pair.slice(slash + 1) }
        })
      } else {
        values[field] = cell
      }
    })
    const email = typeof values.email === 'string' ? values.email : ''
    if (listError) return { number: i + 1, email, input: null, error: listError }
    if (typeof values.sendEmail === 'string') {
      return { number: i + 1, email, input: null, error: { code: 'validation_failed', field: 'sendEmail', message: 'must be TRUE or FALSE' } }
    }
    return checkRow(i + 1, { values, fieldName }, seen)
  })
}

/** JSON: `{ "invitations": [ <the single route's body>, ... ] }`. */
export function rowsOfJson(body: { invitations: unknown[] }, maxRows: number): BulkRow[] {
  tooMany(body.invitations.length, maxRows)
  const seen = new Map<string, number>()
  return body.invitations.map((item, i) => {
    const values = typeof item === 'object' && item !== null && !Array.isArray(item) ? item as Record<string, unknown> : {}
    return checkRow(i + 1, { values, fieldName: (field) => `invitations/${i}/${field}` }, seen)
  })
}

function tooMany(count: number, maxRows: number) {
  if (count > maxRows) {
    throw new ProblemError(413, 'too_many_rows', 'Too many rows', `The file has ${count} rows; at most ${maxRows} are accepted in one job (GUESTGATE_BULK_MAX_ROWS). Split it into several files.`)
  }
}
