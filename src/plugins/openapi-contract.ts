// The parts of the OpenAPI contract that every operation shares, added in one place (the swagger
// transform) from what the route already declares, so no route can forget them:
// - x-required-roles: from config.authorization (the API roles whose policy section grants it);
// - x-graph-permissions: declared beside the operation's schema (graphPermissions()), required;
// - response headers: x-request-id on every answer, RateLimit-* where requests are counted,
//   Retry-After on 429 and 503, Idempotent-Replayed where an Idempotency-Key is honoured;
// - shared answers: 429 where requests are counted, 409/422 of the Idempotency-Key check, 504 of
//   a Graph write's deadline (sharedProblems);
// - a parameter with a default is optional (the server fills it in);
// - every response has a description of its own (a missing one fails the build of the document).
// docs/api-contract.md describes these conventions for client authors.
import { OptionalKind } from '@sinclair/typebox'
import type { RouteOptions } from 'fastify'
import { API_ROLES, type ApiRole } from '../auth/principal.js'
import type { PolicyAction, PolicySubject } from '../policies/types.js'
import { problemResponse } from '../schemas/problem.js'
import type { RouteAuthorization } from './authorization.js'

/** Microsoft Graph application permissions an operation may use (least privileged per call). */
export type GraphPermission =
  | 'User.Invite.All'
  | 'User.Read.All'
  | 'User.ReadWrite.All'
  | 'User.RevokeSessions.All'
  | 'GroupMember.Read.All'
  | 'GroupMember.ReadWrite.All'
  | 'Application.Read.All'
  | 'AppRoleAssignment.ReadWrite.All'
  | 'AuditLog.Read.All'

export const GRAPH_PERMISSIONS_KEY = 'x-graph-permissions'
export const REQUIRED_ROLES_KEY = 'x-required-roles'
/** Marks an operation whose body may be left out (@fastify/swagger calls every body required). */
const OPTIONAL_BODY_KEY = 'x-optional-body'

/** Spread into an operation's schema: the Graph permissions its calls need ([] for none). */
export const graphPermissions = (...permissions: GraphPermission[]) => ({ [GRAPH_PERMISSIONS_KEY]: permissions })

type Grant = `${PolicySubject}.${PolicyAction}`
const anyRole: readonly ApiRole[] = API_ROLES
const inviters: readonly ApiRole[] = ['Guests.Invite', 'Guests.Manage']

/** Which API role's section of the policy file is meant to grant what (README, "Roles of the API").
 *  The policy file decides in the end: a role it says nothing about gets nothing. */
const ROLES_FOR: Partial<Record<Grant, readonly ApiRole[]>> = {
  'Invitation.invite': inviters,
  'Guest.read': anyRole,
  'Guest.resend': inviters,
  'Guest.resetRedemption': ['Guests.Manage'],
  'Guest.delete': ['Guests.Manage'],
  'Guest.revokeAccess': ['Guests.Manage'],
  'Guest.manageSponsors': ['Guests.Manage'],
  'Group.read': ['Groups.ManageMembers'],
  'GroupMembership.read': anyRole,
  'GroupMembership.addMember': ['Groups.ManageMembers'],
  'GroupMembership.removeMember': ['Groups.ManageMembers'],
  'App.read': ['Apps.AssignRoles'],
  'AppRoleAssignment.assign': ['Apps.AssignRoles'],
  'AppRoleAssignment.unassign': ['Apps.AssignRoles'],
  'AuditLog.read': ['Audit.Read'],
  'AuditLog.export': ['Audit.Read'],
  'Self.check': anyRole,
  // A bundle names the roles that may grant it (grantableBy): any API role may be among them.
  'AccessBundle.grantBundle': anyRole,
  'AccessBundle.revokeBundle': anyRole,
  'Guest.blockSignIn': ['Guests.Manage'],
  'Guest.revokeSessions': ['Guests.Manage'],
  'Report.read': ['Guests.Manage', 'Audit.Read'],
  'Report.cleanup': ['Guests.Manage'],
  'Webhook.manage': ['Guests.Manage'],
}

export function requiredRoles(authorization: RouteAuthorization | undefined): readonly ApiRole[] {
  if (!authorization) return []
  const roles = ROLES_FOR[`${authorization.subject}.${authorization.action}`]
  if (!roles) throw new Error(`No API roles are known for ${authorization.subject}.${authorization.action}: add them to ROLES_FOR`)
  return roles
}

type JsonObject = Record<string, unknown>
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

const header = (description: string, schema: JsonObject = { type: 'string' }) => ({ ...schema, description })

export const RESPONSE_HEADERS = {
  requestId: header('guestgate\'s id of this request: in its logs, problem bodies and audit rows', { type: 'string', format: 'uuid' }),
  clientRequestId: header('Your x-request-id, echoed when you sent one'),
  rateLimitLimit: header('Requests allowed to this caller per window (IETF RateLimit header fields draft)', { type: 'integer' }),
  rateLimitRemaining: header('Requests left in the current window', { type: 'integer' }),
  rateLimitReset: header('Seconds until the window resets', { type: 'integer' }),
  retryAfter: header('Seconds to wait before trying again', { type: 'integer', minimum: 1 }),
  replayed: header('"true" when this is the stored answer of an earlier request with the same Idempotency-Key (nothing was done again)', { type: 'string', enum: ['true'] }),
}

interface RouteConfig {
  public?: boolean
  authorization?: RouteAuthorization
  rateLimit?: unknown
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function headersFor(status: string, route: Pick<RouteOptions, 'method' | 'config'>): JsonObject {
  const config = (route.config ?? {}) as RouteConfig
  const headers: JsonObject = { 'x-request-id': RESPONSE_HEADERS.requestId, 'x-client-request-id': RESPONSE_HEADERS.clientRequestId }
  if (config.rateLimit !== false) {
    Object.assign(headers, {
      'RateLimit-Limit': RESPONSE_HEADERS.rateLimitLimit,
      'RateLimit-Remaining': RESPONSE_HEADERS.rateLimitRemaining,
      'RateLimit-Reset': RESPONSE_HEADERS.rateLimitReset,
    })
  }
  // 409: an Idempotency-Key whose first request still runs.
  if (status === '429' || status === '503' || status === '409') headers['Retry-After'] = RESPONSE_HEADERS.retryAfter
  const idempotent = [route.method].flat().some((m) => MUTATING.has(m)) && !config.public
  if (idempotent && !status.startsWith('5')) headers['Idempotent-Replayed'] = RESPONSE_HEADERS.replayed
  return headers
}

/** The permissions that change the directory: an operation declaring one writes to Graph. */
export const GRAPH_WRITE_PERMISSIONS: ReadonlySet<string> = new Set<GraphPermission>(['User.Invite.All', 'User.ReadWrite.All', 'User.RevokeSessions.All', 'GroupMember.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All'])

const RATE_LIMITED = 'Too many requests from this caller or address (rate_limited): retry after Retry-After seconds'

/** Answers that come from shared machinery rather than the route's own code, so that the route
 *  cannot forget them: the rate limiter (plugins/rate-limit.ts) on every counted route, the
 *  Idempotency-Key check (plugins/idempotency.ts) on every authenticated mutating route, and a
 *  Graph write's deadline (operations/audited-graph.ts) on every mutating route that writes to
 *  Graph while the caller waits (a 202 route writes later, in its jobs). A status the route
 *  already documents keeps its own schema and gets the shared case added to its description
 *  (the 429 only where none is documented). */
function sharedProblems(declared: JsonObject, route: Pick<RouteOptions, 'method' | 'config'>, permissions: unknown[]): JsonObject {
  const config = (route.config ?? {}) as RouteConfig
  const mutating = [route.method].flat().some((m) => MUTATING.has(m))
  const shared: Record<string, string> = {}
  if (mutating && !config.public) {
    shared['409'] = 'A request with the same Idempotency-Key is still running (idempotency_key_in_use): retry after Retry-After to get its answer'
    shared['422'] = 'The Idempotency-Key was first used for a different request (idempotency_key_reused)'
  }
  if (mutating && !('202' in declared) && permissions.some((p) => GRAPH_WRITE_PERMISSIONS.has(String(p)))) {
    shared['504'] = 'Microsoft Graph did not answer a write in time (graph_timeout): whether it was made is being settled by reading Graph; GET /v1/audit/operations/{operationId} shows the outcome. Do not repeat the request before it does'
  }
  const added: JsonObject = {}
  for (const [status, description] of Object.entries(shared)) {
    const own = declared[status]
    added[status] = isObject(own) ? { ...own, description: `${String(own.description)}; or: ${description}` } : problemResponse(description)
  }
  // The rate limiter counts every route but those that opt out (the health probes).
  if (config.rateLimit !== false && !('429' in declared)) added['429'] = problemResponse(RATE_LIMITED)
  return added
}

/** A parameter object whose properties with a default are no longer required. */
function defaultsOptional(schema: unknown): unknown {
  if (!isObject(schema) || !Array.isArray(schema.required) || !isObject(schema.properties)) return schema
  const properties = schema.properties
  const required = (schema.required as string[]).filter((name) => !(isObject(properties[name]) && 'default' in properties[name]))
  const { required: _required, ...rest } = schema
  return required.length > 0 ? { ...rest, required } : rest
}

/** The route's schema as the OpenAPI document shows it; the route's own schema is not changed. */
export function contractSchema(schema: JsonObject, route: Pick<RouteOptions, 'method' | 'url' | 'config'>): JsonObject {
  const name = `${[route.method].flat().join(',')} ${route.url}`
  const config = (route.config ?? {}) as RouteConfig
  const permissions = schema[GRAPH_PERMISSIONS_KEY]
  if (!Array.isArray(permissions)) {
    if (!config.public) throw new Error(`${name}: its schema must declare the Graph permissions it uses (graphPermissions(...))`)
  }
  const declared: JsonObject = isObject(schema.response) ? schema.response : {}
  for (const [status, response] of Object.entries(declared)) {
    if (!isObject(response) || typeof response.description !== 'string' || response.description === '') {
      throw new Error(`${name}: response ${status} has no description`)
    }
  }
  const responses: JsonObject = {}
  const all = { ...declared, ...sharedProblems(declared, route, Array.isArray(permissions) ? permissions : []) } as Record<string, JsonObject>
  for (const [status, response] of Object.entries(all)) {
    responses[status] = { ...response, headers: { ...headersFor(status, route), ...(isObject(response.headers) ? response.headers : {}) } }
  }
  return {
    ...schema,
    ...(schema.querystring ? { querystring: defaultsOptional(schema.querystring) } : {}),
    ...(schema.body ? { body: defaultsOptional(schema.body) } : {}),
    response: responses,
    [REQUIRED_ROLES_KEY]: requiredRoles(config.authorization),
    [GRAPH_PERMISSIONS_KEY]: Array.isArray(permissions) ? permissions : [],
    ...(isObject(schema.body) && OptionalKind in schema.body ? { [OPTIONAL_BODY_KEY]: true } : {}),
  }
}

/** The whole document, last: a body the route lets callers leave out is not required. */
export function contractDocument<T extends { paths?: object }>(document: T): T {
  for (const operations of Object.values(document.paths ?? {})) {
    if (!isObject(operations)) continue
    for (const operation of Object.values(operations)) {
      if (!isObject(operation) || operation[OPTIONAL_BODY_KEY] !== true) continue
      delete operation[OPTIONAL_BODY_KEY]
      if (isObject(operation.requestBody)) operation.requestBody.required = false
    }
  }
  return document
}
