// Property-based fuzzing of every operation of the app's own OpenAPI document (fast-check): each
// operation's path parameters, query string, headers and JSON body are generated from its
// schemas, then sent valid, mutated (a field replaced, dropped or added, hostile text) or as
// arbitrary input through app.inject with a token holding every role. The property: no 5xx, and
// every 4xx is application/problem+json, naming the field when it is a validation error.
// Shared by test/routes/operation-fuzz.test.ts (300 runs per operation) and
// bench/operation-fuzz.ts (10,000).
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { SEED } from '../../src/graph/simulator/seed.js'

type Schema = Record<string, unknown> & {
  $ref?: string; type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema
  anyOf?: Schema[]; oneOf?: Schema[]; allOf?: Schema[]; enum?: unknown[]; const?: unknown; format?: string; pattern?: string
  minLength?: number; maxLength?: number; minimum?: number; maximum?: number; minItems?: number; maxItems?: number; nullable?: boolean
}
interface Parameter { in: 'path' | 'query' | 'header'; name: string; required?: boolean; schema: Schema }
interface Operation { operationId: string; parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }
interface Spec { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } }

export interface FuzzRequest {
  method: string
  url: string
  headers: Record<string, string>
  payload?: string
  /** valid: from the schema; mutated: one part broken; arbitrary: any input. */
  kind: 'valid' | 'mutated' | 'arbitrary'
}

export interface OperationUnderFuzz {
  operationId: string
  method: string
  path: string
  request: fc.Arbitrary<FuzzRequest>
}

/** Ids that exist nowhere: most generated requests name one, so few reach Graph's writes. */
const UNKNOWN_IDS = ['0f000000-0000-4000-8000-00000000abcd', '0e000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000000']
const SEED_IDS = [SEED.users.existingGuest.id, SEED.users.adele.id, ...Object.values(SEED.groups), SEED.apps.docuSign.id, SEED.apps.jira.id,
  SEED.apps.microsoftGraph.id, SEED.apps.guestgate.id, SEED.apps.docuSign.roles.sender]
const EMAILS = ['ann@partner.example', 'bob@fabrikam.example', 'eve@evil.example', 'jane+tag@partner.example', 'a@sub.partner.example']
const URLS = ['https://myapps.microsoft.com/', 'https://portal.partner.example/welcome', 'https://evil.example/', 'http://myapps.microsoft.com/', 'javascript:alert(1)']

/** Text that has broken parsers, stores and logs before. */
const hostileText = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udfff tail', '\u001b[2J', '\u202e', '\r\n', '%00', '../../etc/passwd', "' OR 1=1 --",
    '{"$ne":null}', '__proto__', 'constructor', 'x'.repeat(5000), '', ' ', '😀', 'null', 'true', '-1', '1e308', 'NaN'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 300 }),
)
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  fc.constantFrom(null, true, false, 0, -1, 1e308, 3.5, Number.MAX_SAFE_INTEGER, [], {}, [null], { $ne: null }),
  fc.jsonValue({ maxDepth: 3 }),
)

function resolve(spec: Spec, schema: Schema): Schema {
  if (!schema.$ref) return schema
  const name = schema.$ref.replace(/^#\/components\/schemas\//, '')
  const target = spec.components?.schemas?.[name]
  if (!target) throw new Error(`unknown $ref ${schema.$ref}`)
  return resolve(spec, target)
}

/** Values the schema accepts (mostly): ids, emails and URLs from small pools that matter here. */
export function valueOf(spec: Spec, raw: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(spec, raw)
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  const union = schema.anyOf ?? schema.oneOf
  if (union) return fc.oneof(...union.map((s) => valueOf(spec, s)))
  if (schema.allOf) return valueOf(spec, Object.assign({}, ...schema.allOf.map((s) => resolve(spec, s))) as Schema)
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type
  const value = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'string': return stringOf(schema)
      case 'integer': return fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 1000, 1_000_000) })
      case 'number': return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true })
      case 'boolean': return fc.boolean()
      case 'null': return fc.constant(null)
      case 'array': return fc.array(schema.items ? valueOf(spec, schema.items) : fc.jsonValue(), {
        minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) })
      case 'object': {
        const properties = schema.properties ?? {}
        const required = schema.required ?? []
        if (Object.keys(properties).length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
        return fc.record(Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valueOf(spec, s)])), { requiredKeys: required })
      }
      default: return fc.jsonValue({ maxDepth: 2 })
    }
  })()
  return schema.nullable || (Array.isArray(schema.type) && schema.type.includes('null')) ? fc.option(value, { nil: null }) : value
}

function stringOf(schema: Schema): fc.Arbitrary<string> {
  const max = schema.maxLength ?? 300
  const min = schema.minLength ?? 0
  const pattern = schema.pattern ? new RegExp(schema.pattern) : undefined
  // A format and a pattern together (an https:// uri): values must match both to be valid.
  const fits = (s: string) => s.length >= min && s.length <= max && (!pattern || pattern.test(s))
  switch (schema.format) {
    case 'uuid':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...UNKNOWN_IDS) },
        { weight: 2, arbitrary: fc.constantFrom(...SEED_IDS) },
        { weight: 1, arbitrary: fc.uuid() },
      ).chain((id) => fc.constantFrom(id, id.toUpperCase()))
    case 'email': return fc.oneof(fc.constantFrom(...EMAILS), fc.emailAddress()).filter(fits)
    case 'uri': return fc.oneof(fc.constantFrom(...URLS), fc.webUrl({ validSchemes: ['https'] })).filter(fits)
    case 'date-time': return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString())
  }
  if (pattern) return fc.stringMatching(pattern).filter(fits)
  return fc.oneof(fc.string({ minLength: min, maxLength: Math.min(max, 40) }), fc.constantFrom('DocuSign.Sender', 'Developers', 'partner.example').filter(fits))
}

/** One part of a valid input broken: a field replaced, dropped or added, or the whole replaced. */
function mutate(value: unknown): fc.Arbitrary<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
    return hostileValue
  }
  const keys = Object.keys(value)
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), hostileValue).map(([key, bad]) => ({ ...value, [key]: bad })),
    fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key))),
    fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), hostileValue).map(([key, bad]) => ({ ...value, [key]: bad })),
    hostileValue,
  )
}

// The hostile values are JSON: text, numbers, booleans, null, arrays and objects.
const asText = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : value === undefined ? '' : JSON.stringify(value)
/** A URL carries UTF-8: a lone surrogate cannot be percent-encoded (it becomes U+FFFD on the way). */
const urlPart = (value: unknown) => encodeURIComponent(asText(value).replace(/\p{Cs}/gu, '\ufffd'))

function queryString(query: Record<string, unknown>): string {
  const parts = Object.entries(query).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).filter((v) => v !== undefined).map((v) => `${urlPart(key)}=${urlPart(v)}`))
  return parts.length > 0 ? `?${parts.join('&')}` : ''
}

/** The operations of the app's OpenAPI document, each with its request generator. */
export function operationsOf(app: FastifyInstance, token: string): OperationUnderFuzz[] {
  const spec = app.swagger() as unknown as Spec
  const operations: OperationUnderFuzz[] = []
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const parameters = operation.parameters ?? []
      const group = (where: Parameter['in']) => {
        const list = parameters.filter((p) => p.in === where)
        return fc.record(Object.fromEntries(list.map((p) => [p.name, valueOf(spec, p.schema)])),
          { requiredKeys: list.filter((p) => p.required || where === 'path').map((p) => p.name) })
      }
      const bodySchema = operation.requestBody?.content['application/json']?.schema
      const body = bodySchema ? valueOf(spec, bodySchema) : fc.constant(undefined)
      const valid = fc.record({ params: group('path'), query: group('query'), headers: group('header'), body })
      type Parts = { params: Record<string, unknown>; query: Record<string, unknown>; headers: Record<string, unknown>; body: unknown }
      const mutated = valid.chain((parts: Parts) => fc.constantFrom('params', 'query', 'headers', 'body' as const).chain((part) =>
        mutate(parts[part]).map((bad) => ({ ...parts, [part]: part === 'body' ? bad : (typeof bad === 'object' && bad !== null && !Array.isArray(bad) ? bad : { [Object.keys(parts[part] as object)[0] ?? 'x']: bad }) }))))
      const arbitrary = fc.record({
        params: fc.record(Object.fromEntries(parameters.filter((p) => p.in === 'path').map((p) => [p.name, hostileValue]))),
        query: fc.dictionary(fc.oneof(fc.constantFrom(...parameters.filter((p) => p.in === 'query').map((p) => p.name), 'x'), fc.string({ maxLength: 8 })), hostileValue, { maxKeys: 4 }),
        headers: fc.constant({}),
        body: hostileValue,
      })
      const request = fc.oneof(
        { weight: 4, arbitrary: valid.map((parts) => ({ ...parts, kind: 'valid' as const })) },
        { weight: 4, arbitrary: mutated.map((parts) => ({ ...parts, kind: 'mutated' as const })) },
        { weight: 2, arbitrary: arbitrary.map((parts) => ({ ...parts, kind: 'arbitrary' as const })) },
      ).chain((parts) => fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8').map((contentType) => {
        const url = path.replace(/\{([^}]+)\}/g, (_m, name: string) => urlPart(asText(parts.params[name]) || 'x')) + queryString(parts.query)
        const headers: Record<string, string> = { authorization: `Bearer ${token}` }
        // Only what an HTTP header can carry at all (Node refuses the rest before we see it).
        for (const [name, value] of Object.entries(parts.headers)) if (value !== undefined) headers[name] = asText(value).replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')
        const sendsBody = method !== 'get' && method !== 'delete' && parts.body !== undefined
        if (sendsBody) headers['content-type'] = parts.kind === 'valid' ? 'application/json' : contentType
        return { method: method.toUpperCase(), url, headers, payload: sendsBody ? JSON.stringify(parts.body) : undefined, kind: parts.kind }
      }))
      operations.push({ operationId: operation.operationId, method: method.toUpperCase(), path, request })
    }
  }
  return operations
}

/** Why a response breaks the property, or null when it keeps it. */
export function violation(response: LightMyRequestResponse): string | null {
  if (response.statusCode >= 500) return `${response.statusCode} ${response.body.slice(0, 300)}`
  if (response.statusCode < 400) return null
  if (!/^application\/problem\+json/.test(String(response.headers['content-type']))) return `${response.statusCode} is not problem+json: ${String(response.headers['content-type'])}`
  let problem: { status?: number; code?: string; type?: string; errors?: { field?: string }[] }
  try {
    problem = response.json()
  } catch {
    return `${response.statusCode} body is not JSON`
  }
  if (problem.status !== response.statusCode || !problem.code || !problem.type) return `${response.statusCode} problem without status, code or type`
  const validation = problem.code === 'validation_failed' || problem.code === 'malformed_body' || response.statusCode === 413 || response.statusCode === 415
  if (validation && !(problem.errors?.length && problem.errors.every((e) => typeof e.field === 'string' && /^(body|query|params|header)(\/|$)/.test(e.field)))) {
    return `${response.statusCode} ${problem.code} does not name a field: ${response.body.slice(0, 300)}`
  }
  return null
}

export interface FuzzTally { runs: number; byStatus: Record<number, number>; byKind: Record<string, number>; violations: string[] }

export async function send(app: FastifyInstance, request: FuzzRequest, tally: FuzzTally): Promise<string | null> {
  const response = await app.inject({ method: request.method as 'GET', url: request.url, headers: request.headers, payload: request.payload })
  tally.runs++
  tally.byStatus[response.statusCode] = (tally.byStatus[response.statusCode] ?? 0) + 1
  tally.byKind[request.kind] = (tally.byKind[request.kind] ?? 0) + 1
  const problem = violation(response)
  if (problem) tally.violations.push(`${request.method} ${request.url.slice(0, 200)} ${request.payload?.slice(0, 200) ?? ''} -> ${problem}`)
  return problem
}

export const newTally = (): FuzzTally => ({ runs: 0, byStatus: {}, byKind: {}, violations: [] })

/** Rate limits high enough that a fuzz run measures the operations, not the limiter. */
export const FUZZ_ENV = {
  GUESTGATE_RATE_LIMIT_MAX: '1000000', GUESTGATE_RATE_LIMIT_WHAT_IF_MAX: '1000000', GUESTGATE_RATE_LIMIT_ANONYMOUS_MAX: '1000000',
}
export const ALL_ROLES = ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read']
