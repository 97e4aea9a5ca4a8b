// GraphGateway over @microsoft/microsoft-graph-client with our own middleware chain.
// Requests are sent with ResponseType.RAW so every answer, good or bad, gives us its status and
// request-id header; Graph's error bodies become GraphRequestError here and nowhere else.
//
// Errors: a Graph answer that is not 2xx (after the chain's bounded retries) is
// GraphRequestError(status, Graph's error code, Graph's message, request-id, Retry-After seconds).
// When Graph never answered, status is 0 and code says why (GraphFailureCode): ConnectionFailed,
// NetworkError, Timeout, TokenAcquisitionFailed. InvalidResponse: a 2xx body we cannot read
// (status 0 when it parsed but an object lacked a required field such as id).
// isAmbiguousFailure (graph-errors.ts) says which of these leave a write's fate unknown.
//
// Writes are sent once unless Graph said it did not process them (see mayRetry): no write is
// ever repeated after an answer that may follow its application.
import type { TokenCredential } from '@azure/identity'
import { Client, ResponseType } from '@microsoft/microsoft-graph-client'
import {
  GRAPH_INVITATION_STATUSES,
  type GraphInvitationStatus,
  InvalidPageTokenError,
  PLANNED_OBJECT_ID,
  type AppRole,
  type AppRoleAssignment,
  type Change,
  type DirectoryGroup,
  type DirectoryUser,
  type GraphCallContext,
  type GraphGateway,
  GraphRequestError,
  type GraphResult,
  type Invitation,
  type InvitationRequest,
  type Page,
  type ResetRedemptionRequest,
  type ServicePrincipal,
  type SignInActivity,
  type Sponsor,
} from './graph-gateway.js'
import { principalIdOfAssignment } from './app-role-assignment-id.js'
import type { GraphExchange } from './graph-exchange.js'
import { createGraphMiddleware, graphRequestErrorFromChain, transportFailure, type RetryInfo, type RetrySettings, type ThrottledInfo } from './graph-middleware.js'
import { parseRetryAfterMs } from './retry-after.js'

export interface MsGraphGatewayOptions {
  /** e.g. https://graph.microsoft.com/v1.0, or http://127.0.0.1:PORT/v1.0 for the simulator. */
  baseUrl: string
  credential: TokenCredential
  /** Default ['https://graph.microsoft.com/.default']. */
  scopes?: string[]
  retry?: RetrySettings
  onRetry?: (info: RetryInfo) => void
  /** Every 429 from Graph, retried or not. */
  onThrottled?: (info: ThrottledInfo) => void | Promise<void>
  /** Deadline of each HTTP request to Graph (GRAPH_TIMEOUT_MS). Default 30 000. */
  timeoutMs?: number
  /** Receives a redacted record of every HTTP exchange (the conformance script keeps them). */
  onExchange?: (exchange: GraphExchange) => void
}

export const USER_FIELDS =
  'id,displayName,mail,otherMails,accountEnabled,userPrincipalName,userType,creationType,createdDateTime,externalUserState,externalUserStateChangeDateTime'
export const GROUP_FIELDS = 'id,displayName,description,isAssignableToRole,groupTypes,membershipRule,mailEnabled,securityEnabled'
export const SERVICE_PRINCIPAL_FIELDS = 'id,appId,displayName,appRoles'

/** Graph wants directory objects referenced by their canonical Graph URL, whatever host we call. */
const CANONICAL_GRAPH_URL = 'https://graph.microsoft.com/v1.0'

interface GraphCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  path: string
  query?: Record<string, string>
  body?: unknown
  /** Advanced queries ($search, endswith, $count) need ConsistencyLevel: eventual. */
  eventual?: boolean
}

interface GraphAnswer {
  status: number
  requestId?: string
  body: unknown
}

type Json = Record<string, unknown>

const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null)
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [])

function invalidResponse(message: string, answer?: GraphAnswer): GraphRequestError {
  return new GraphRequestError(answer?.status ?? 0, 'InvalidResponse', message, answer?.requestId)
}

function requiredString(object: Json, field: string): string {
  const value = object[field]
  if (typeof value !== 'string' || value === '') throw invalidResponse(`Graph returned an object without ${field}`)
  return value
}

/**
 * Builds a path with every interpolated id percent-encoded. Empty, "." and ".." are refused:
 * fetch would resolve them as dot segments (even percent-encoded), turning /users/{id} into
 * /users, a different resource.
 */
function graphPath(parts: TemplateStringsArray, ...ids: string[]): string {
  return parts.reduce((path, part, index) => {
    const id = ids[index - 1] as string
    if (id === '' || id === '.' || id === '..') throw new RangeError(`Not a usable Graph object id: "${id}"`)
    return path + encodeURIComponent(id) + part
  })
}

/** OData string literal: single quotes doubled. */
const odataString = (value: string) => `'${value.replaceAll("'", "''")}'`

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** OData Edm.Guid literal (unquoted): refused unless it really is a GUID, so nothing can be injected. */
function odataGuid(value: string): string {
  if (!GUID.test(value)) throw new RangeError(`Not a GUID: "${value}"`)
  return value
}

/**
 * `"displayName:S" OR "mail:S"`. Double quotes end a $search phrase and OData 4.0 has no
 * escape for them, so they are dropped from the text.
 */
function searchClause(fields: string[], text: string | undefined): string | undefined {
  const phrase = text?.replaceAll('"', '').trim()
  if (!phrase) return undefined
  return fields.map((field) => `"${field}:${phrase}"`).join(' OR ')
}

/**
 * Graph's @odata.nextLink, to be followed as given: Graph documents the whole URL as the way to
 * the next page and warns against taking $skiptoken out of it
 * (https://learn.microsoft.com/en-us/graph/paging). It is our opaque page token too.
 */
function nextLinkOf(answer: GraphAnswer): string | undefined {
  if (!isJson(answer.body) || answer.body['@odata.nextLink'] === undefined) return undefined
  const link = answer.body['@odata.nextLink']
  if (typeof link !== 'string' || link === '') throw invalidResponse('Graph returned an @odata.nextLink that is not a URL', answer)
  return link
}

function collection(answer: GraphAnswer): Json[] {
  if (!isJson(answer.body) || !Array.isArray(answer.body.value)) throw invalidResponse('Graph returned no value array', answer)
  return answer.body.value.filter(isJson)
}

function mapUser(user: Json): DirectoryUser {
  return {
    id: requiredString(user, 'id'),
    displayName: stringOrNull(user.displayName),
    mail: stringOrNull(user.mail),
    otherMails: strings(user.otherMails),
    // Graph leaves it out only when not selected; an account is enabled unless it says false.
    accountEnabled: user.accountEnabled !== false,
    userPrincipalName: stringOrNull(user.userPrincipalName),
    // Graph leaves userType null on some old member accounts.
    userType: stringOrNull(user.userType) ?? 'Member',
    creationType: stringOrNull(user.creationType),
    createdDateTime: stringOrNull(user.createdDateTime),
    externalUserState: stringOrNull(user.externalUserState),
    externalUserStateChangeDateTime: stringOrNull(user.externalUserStateChangeDateTime),
  }
}

function mapGroup(group: Json): DirectoryGroup {
  const groupTypes = strings(group.groupTypes)
  return {
    id: requiredString(group, 'id'),
    displayName: stringOrNull(group.displayName) ?? '',
    description: stringOrNull(group.description),
    isAssignableToRole: group.isAssignableToRole === true,
    groupTypes,
    membershipRule: stringOrNull(group.membershipRule),
    isDynamic: groupTypes.includes('DynamicMembership'),
    mailEnabled: group.mailEnabled === true,
    securityEnabled: group.securityEnabled === true,
  }
}

function mapAppRole(role: Json): AppRole {
  return {
    id: requiredString(role, 'id'),
    value: stringOrNull(role.value),
    displayName: stringOrNull(role.displayName) ?? '',
    description: stringOrNull(role.description),
    isEnabled: role.isEnabled === true,
    allowedMemberTypes: strings(role.allowedMemberTypes),
  }
}

function mapServicePrincipal(servicePrincipal: Json): ServicePrincipal {
  return {
    id: requiredString(servicePrincipal, 'id'),
    appId: requiredString(servicePrincipal, 'appId'),
    displayName: stringOrNull(servicePrincipal.displayName) ?? '',
    appRoles: Array.isArray(servicePrincipal.appRoles) ? servicePrincipal.appRoles.filter(isJson).map(mapAppRole) : [],
  }
}

function mapAssignment(assignment: Json): AppRoleAssignment {
  return {
    id: requiredString(assignment, 'id'),
    appRoleId: requiredString(assignment, 'appRoleId'),
    principalId: requiredString(assignment, 'principalId'),
    principalType: stringOrNull(assignment.principalType),
    principalDisplayName: stringOrNull(assignment.principalDisplayName),
    resourceId: requiredString(assignment, 'resourceId'),
    resourceDisplayName: stringOrNull(assignment.resourceDisplayName),
    createdDateTime: stringOrNull(assignment.createdDateTime),
  }
}

function mapSignInActivity(value: unknown): SignInActivity | null {
  if (!isJson(value)) return null
  return {
    lastSignInDateTime: stringOrNull(value.lastSignInDateTime),
    lastNonInteractiveSignInDateTime: stringOrNull(value.lastNonInteractiveSignInDateTime),
    lastSuccessfulSignInDateTime: stringOrNull(value.lastSuccessfulSignInDateTime),
  }
}

function mapSponsor(sponsor: Json): Sponsor {
  const type = stringOrNull(sponsor['@odata.type'])?.replace(/^#microsoft\.graph\./, '') ?? 'directoryObject'
  return { id: requiredString(sponsor, 'id'), type, displayName: stringOrNull(sponsor.displayName), mail: stringOrNull(sponsor.mail) }
}

/** A status Graph does not document reads as PendingAcceptance, the status an invitation keeps in
 *  practice (redemption shows in the user's externalUserState, not here). */
const invitationStatusOf = (value: unknown): GraphInvitationStatus =>
  GRAPH_INVITATION_STATUSES.find((status) => status === value) ?? 'PendingAcceptance'

function mapInvitation(invitation: Json): Invitation {
  const invitedUser = isJson(invitation.invitedUser) ? invitation.invitedUser : {}
  return {
    id: requiredString(invitation, 'id'),
    inviteRedeemUrl: requiredString(invitation, 'inviteRedeemUrl'),
    invitedUserEmailAddress: requiredString(invitation, 'invitedUserEmailAddress'),
    invitedUserDisplayName: stringOrNull(invitation.invitedUserDisplayName),
    invitedUserType: stringOrNull(invitation.invitedUserType),
    inviteRedirectUrl: requiredString(invitation, 'inviteRedirectUrl'),
    status: invitationStatusOf(invitation.status),
    invitedUserId: requiredString(invitedUser, 'id'),
  }
}

function errorFromAnswer(answer: GraphAnswer, headers: Headers): GraphRequestError {
  const error = isJson(answer.body) && isJson(answer.body.error) ? answer.body.error : {}
  const innerError = isJson(error.innerError) ? error.innerError : {}
  const retryAfterMs = parseRetryAfterMs(headers.get('retry-after'))
  return new GraphRequestError(
    answer.status,
    stringOrNull(error.code) ?? 'UnknownError',
    stringOrNull(error.message) ?? `Graph answered ${answer.status} without an error body`,
    answer.requestId ?? stringOrNull(innerError['request-id']) ?? undefined,
    retryAfterMs === undefined ? undefined : retryAfterMs / 1000,
  )
}

/** What Graph would answer a planned write (dry run), shaped so the caller's code runs on. */
function plannedAnswer(call: GraphCall): unknown {
  const body = isJson(call.body) ? call.body : {}
  if (call.method === 'POST' && call.path === '/invitations') {
    const invitedUser = isJson(body.invitedUser) ? body.invitedUser : {}
    return {
      id: PLANNED_OBJECT_ID, inviteRedeemUrl: 'https://login.microsoftonline.com/redeem?dry-run', status: 'PendingAcceptance',
      invitedUserEmailAddress: body.invitedUserEmailAddress, invitedUserDisplayName: body.invitedUserDisplayName ?? null,
      invitedUserType: 'Guest', inviteRedirectUrl: body.inviteRedirectUrl, invitedUser: { id: invitedUser.id ?? PLANNED_OBJECT_ID },
    }
  }
  if (call.method === 'POST' && call.path.endsWith('/appRoleAssignedTo')) {
    return { id: PLANNED_OBJECT_ID, appRoleId: body.appRoleId, principalId: body.principalId, principalType: 'User', resourceId: body.resourceId }
  }
  if (call.method === 'POST' && call.path.endsWith('/revokeSignInSessions')) return { value: true }
  return undefined
}

const result = <T>(value: T, answer: GraphAnswer): GraphResult<T> =>
  answer.requestId === undefined ? { value, status: answer.status } : { value, status: answer.status, requestId: answer.requestId }

const fromError = <T>(value: T, error: GraphRequestError): GraphResult<T> =>
  error.requestId === undefined ? { value, status: error.status } : { value, status: error.status, requestId: error.requestId }

const isGraphError = (error: unknown, statuses: number[], message?: RegExp): error is GraphRequestError =>
  error instanceof GraphRequestError && statuses.includes(error.status) && (message === undefined || message.test(error.graphMessage))

/** Graph's "One or more added object references already exist" for a $ref add. */
const already = (error: unknown): boolean => isGraphError(error, [400], /already exist/i)

/** Graph's "One or more removed object references do not exist" for a $ref removal. */
const notThere = (error: unknown): boolean => isGraphError(error, [400, 404], /do not exist/i)

export function createMsGraphGateway(options: MsGraphGatewayOptions): GraphGateway {
  const base = new URL(options.baseUrl)
  const client = Client.initWithMiddleware({
    // The SDK joins baseUrl + defaultVersion + path; it only splits https URLs itself.
    baseUrl: base.origin,
    defaultVersion: base.pathname.replace(/^\/+|\/+$/g, ''),
    middleware: createGraphMiddleware(options),
  })

  const versionPrefix = `/${base.pathname.replace(/^\/+|\/+$/g, '')}/`

  /**
   * The part of a nextLink after our base URL (path and query exactly as Graph wrote them), for
   * the SDK to send through our middleware. A link to anywhere else is refused: our token must
   * never leave for another host, whoever made the page token.
   */
  function linkPath(link: string): string {
    let url: URL
    try {
      url = new URL(link)
    } catch {
      throw new InvalidPageTokenError('not an absolute URL')
    }
    const raw = link.slice(link.indexOf('/', link.indexOf('//') + 2))
    if (url.origin !== base.origin || !raw.startsWith(versionPrefix)) throw new InvalidPageTokenError(`not a link to ${base.origin}${versionPrefix}`)
    return raw.slice(versionPrefix.length - 1)
  }

  async function send(call: GraphCall, ctx: GraphCallContext): Promise<GraphAnswer> {
    // A dry run: the write is recorded exactly as it would be sent, and answered as Graph would.
    if (ctx.plan && call.method !== 'GET') {
      ctx.plan.push({ method: call.method, path: `${versionPrefix.slice(0, -1)}${call.path}`, ...(call.body === undefined ? {} : { body: call.body }) })
      return { status: 0, body: plannedAnswer(call) }
    }
    let request = client.api(call.path).responseType(ResponseType.RAW).header('client-request-id', ctx.correlationId)
    if (call.eventual) request = request.header('ConsistencyLevel', 'eventual')
    if (call.query) {
      // The SDK pastes query values into the URL as they are.
      request = request.query(Object.fromEntries(Object.entries(call.query).map(([key, value]) => [key, encodeURIComponent(value)])))
    }
    let response: Response
    try {
      // ResponseType.RAW: the SDK answers the fetch Response itself (its methods are typed any).
      switch (call.method) {
        case 'GET': response = (await request.get()) as Response; break
        case 'POST': response = (await request.post(call.body)) as Response; break
        case 'PATCH': response = (await request.patch(call.body)) as Response; break
        case 'DELETE': response = (await request.delete()) as Response; break
      }
    } catch (error) {
      throw graphRequestErrorFromChain(error) ?? new GraphRequestError(0, 'ClientError', error instanceof Error ? error.message : String(error))
    }
    let text: string
    try {
      text = await response.text()
    } catch (error) {
      // The deadline also covers the body; a connection dropped mid-body may follow a write.
      throw transportFailure(error)
    }
    const requestId = response.headers.get('request-id') ?? undefined
    const answer: GraphAnswer = { status: response.status, requestId, body: undefined }
    try {
      answer.body = text === '' ? undefined : JSON.parse(text)
    } catch {
      if (response.ok) throw invalidResponse('Graph returned a body that is not JSON', answer)
    }
    if (!response.ok) throw errorFromAnswer(answer, response.headers)
    return answer
  }

  /** A nextLink Graph itself returned: a link elsewhere is Graph's answer we cannot use. */
  function followLink(link: string, answer: GraphAnswer): string {
    try {
      return linkPath(link)
    } catch (error) {
      if (error instanceof InvalidPageTokenError) throw invalidResponse(`Graph returned an @odata.nextLink we do not follow (${error.message})`, answer)
      throw error
    }
  }

  /** GETs a collection and follows every nextLink as given; status and request-id are the last page's. */
  async function getAll(path: string, query: Record<string, string> | undefined, ctx: GraphCallContext) {
    const items: Json[] = []
    let answer = await send({ method: 'GET', path, query }, ctx)
    items.push(...collection(answer))
    for (let link = nextLinkOf(answer); link !== undefined; link = nextLinkOf(answer)) {
      answer = await send({ method: 'GET', path: followLink(link, answer) }, ctx)
      items.push(...collection(answer))
    }
    return { items, answer }
  }

  async function getPage<T>(
    path: string,
    query: Record<string, string>,
    eventual: boolean,
    pageToken: string | undefined,
    map: (item: Json) => T,
    ctx: GraphCallContext,
  ): Promise<GraphResult<Page<T>>> {
    // A later page is the nextLink as Graph gave it (it carries the whole query); only the
    // ConsistencyLevel header is ours to send again.
    const answer = pageToken === undefined
      ? await send({ method: 'GET', path, query: { ...query, ...(eventual ? { $count: 'true' } : {}) }, eventual }, ctx)
      : await send({ method: 'GET', path: linkPath(pageToken), eventual }, ctx)
    const token = nextLinkOf(answer)
    const items = collection(answer).map(map)
    return result(token === undefined ? { items } : { items, nextPageToken: token }, answer)
  }

  async function getOne<T>(path: string, select: string, map: (item: Json) => T, ctx: GraphCallContext): Promise<GraphResult<T>> {
    const answer = await send({ method: 'GET', path, query: { $select: select } }, ctx)
    if (!isJson(answer.body)) throw invalidResponse('Graph returned no object', answer)
    return result(map(answer.body), answer)
  }

  /**
   * GET /users/{id}/appRoleAssignments?$filter=resourceId eq {guid}: the user's assignments on
   * one app; the cost grows with the user's assignments, not the app's.
   * https://learn.microsoft.com/en-us/graph/api/user-list-approleassignments (User.Read.All /
   * AppRoleAssignment.ReadWrite.All)
   */
  async function listUserAppRoleAssignmentsOn(userId: string, resourceId: string, ctx: GraphCallContext) {
    const $filter = `resourceId eq ${odataGuid(resourceId)}`
    const { items, answer } = await getAll(graphPath`/users/${userId}/appRoleAssignments`, { $filter }, ctx)
    return result(ownAssignments(items.map(mapAssignment), userId), answer)
  }

  /**
   * Graph lists under a user the app roles of the groups the user is a direct member of too
   * ("This operation also returns app roles assigned to groups that the user is a direct member
   * of", https://learn.microsoft.com/en-us/graph/api/user-list-approleassignments). Those belong
   * to the group: removing one takes the role from every member, and one cannot show that the
   * user's own assignment exists. Only the user's own are the user's.
   */
  function ownAssignments(assignments: AppRoleAssignment[], userId: string): AppRoleAssignment[] {
    const id = userId.toLowerCase()
    return assignments.filter((assignment) => assignment.principalId.toLowerCase() === id)
  }

  async function listAppRoleAssignedTo(servicePrincipalId: string, query: { principalId?: string }, ctx: GraphCallContext) {
    const { items, answer } = await getAll(graphPath`/servicePrincipals/${servicePrincipalId}/appRoleAssignedTo`, undefined, ctx)
    const assignments = items.map(mapAssignment)
    const wanted = query.principalId === undefined ? assignments : assignments.filter((a) => a.principalId === query.principalId)
    return result(wanted, answer)
  }

  /** A write whose answer is only "done": changed=false when `alreadySo` recognises Graph's refusal as "it already was so". */
  async function changeUnless(alreadySo: (error: unknown) => boolean, call: GraphCall, ctx: GraphCallContext): Promise<GraphResult<Change>> {
    try {
      return result<Change>({ changed: true, value: undefined }, await send(call, ctx))
    } catch (error) {
      if (error instanceof GraphRequestError && alreadySo(error)) return fromError<Change>({ changed: false, value: undefined }, error)
      throw error
    }
  }

  async function postInvitation(request: InvitationRequest | ResetRedemptionRequest, ctx: GraphCallContext) {
    const body = {
      invitedUserEmailAddress: request.invitedUserEmailAddress,
      inviteRedirectUrl: request.inviteRedirectUrl,
      ...('invitedUserDisplayName' in request && request.invitedUserDisplayName !== undefined ? { invitedUserDisplayName: request.invitedUserDisplayName } : {}),
      sendInvitationMessage: request.sendInvitationMessage,
      ...(request.customizedMessageBody !== undefined
        ? { invitedUserMessageInfo: { customizedMessageBody: request.customizedMessageBody } }
        : {}),
      invitedUserType: 'Guest',
      ...('sponsorIds' in request && request.sponsorIds !== undefined ? { invitedUserSponsors: request.sponsorIds.map((id) => ({ id })) } : {}),
      // invitedUser is read-only but for a redemption reset, and then it is required.
      ...('invitedUserId' in request ? { invitedUser: { id: request.invitedUserId }, resetRedemption: true } : {}),
    }
    const answer = await send({ method: 'POST', path: '/invitations', body }, ctx)
    if (!isJson(answer.body)) throw invalidResponse('Graph returned no invitation', answer)
    return result(mapInvitation(answer.body), answer)
  }

  return {
    async findUsersByEmail(email, ctx) {
      const address = odataString(email)
      // Microsoft's own existence check before an invitation includes proxyAddresses (an
      // address Exchange knows the user by); Graph compares these values case-insensitively.
      // https://learn.microsoft.com/en-us/graph/api/user-list (proxyAddresses: $filter eq, any)
      const $filter = `mail eq ${address} or otherMails/any(x:x eq ${address}) or proxyAddresses/any(x:x eq ${odataString(`smtp:${email}`)}) or userPrincipalName eq ${address}`
      const { items, answer } = await getAll('/users', { $filter, $select: USER_FIELDS }, ctx)
      return result(items.map(mapUser), answer)
    },

    getUser: async (id, ctx) => getOne(graphPath`/users/${id}`, USER_FIELDS, mapUser, ctx),

    /** Returned only on $select (https://learn.microsoft.com/en-us/graph/api/resources/user). */
    getSignInSessionsValidFrom: async (id, ctx) =>
      getOne(graphPath`/users/${id}`, 'id,signInSessionsValidFromDateTime', (user) => stringOrNull(user.signInSessionsValidFromDateTime), ctx),

    async listGuests(query, ctx) {
      const filters = [`userType eq 'Guest'`]
      if (query.state) filters.push(`externalUserState eq ${odataString(query.state)}`)
      if (query.domain) filters.push(`endswith(mail,${odataString(`@${query.domain}`)})`)
      const $search = searchClause(['displayName', 'mail'], query.search)
      const params = { $filter: filters.join(' and '), $select: USER_FIELDS, $top: String(query.top), ...($search ? { $search } : {}) }
      return getPage('/users', params, Boolean(query.domain || $search), query.pageToken, mapUser, ctx)
    },

    getGroup: async (id, ctx) => getOne(graphPath`/groups/${id}`, GROUP_FIELDS, mapGroup, ctx),

    async listGroups(query, ctx) {
      const $search = searchClause(['displayName'], query.search)
      const params = { $select: GROUP_FIELDS, $top: String(query.top), ...($search ? { $search } : {}) }
      return getPage('/groups', params, Boolean($search), query.pageToken, mapGroup, ctx)
    },

    async listGroupMembers(groupId, query, ctx) {
      const params = {
        $select: USER_FIELDS,
        $top: String(query.top),
        ...(query.guestsOnly ? { $filter: `userType eq 'Guest'` } : {}),
      }
      const path = graphPath`/groups/${groupId}/members/microsoft.graph.user`
      return getPage(path, params, Boolean(query.guestsOnly), query.pageToken, mapUser, ctx)
    },

    async listUserGroups(userId, ctx) {
      const path = graphPath`/users/${userId}/memberOf/microsoft.graph.group`
      const { items, answer } = await getAll(path, { $select: GROUP_FIELDS }, ctx)
      return result(items.map(mapGroup), answer)
    },

    getServicePrincipal: async (id, ctx) => getOne(graphPath`/servicePrincipals/${id}`, SERVICE_PRINCIPAL_FIELDS, mapServicePrincipal, ctx),

    async listServicePrincipals(query, ctx) {
      const $search = searchClause(['displayName'], query.search)
      const params = { $select: SERVICE_PRINCIPAL_FIELDS, $top: String(query.top), ...($search ? { $search } : {}) }
      return getPage('/servicePrincipals', params, Boolean($search), query.pageToken, mapServicePrincipal, ctx)
    },

    /** https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list ($filter on appId; Application.Read.All) */
    async findServicePrincipalByAppId(appId, ctx) {
      const params = { $filter: `appId eq ${odataString(appId)}`, $select: SERVICE_PRINCIPAL_FIELDS }
      const answer = await send({ method: 'GET', path: '/servicePrincipals', query: params }, ctx)
      const [found] = collection(answer).map(mapServicePrincipal)
      return result(found ?? null, answer)
    },

    /** https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments (Application.Read.All) */
    async listServicePrincipalAppRoleAssignments(servicePrincipalId, ctx) {
      const { items, answer } = await getAll(graphPath`/servicePrincipals/${servicePrincipalId}/appRoleAssignments`, undefined, ctx)
      return result(items.map(mapAssignment), answer)
    },

    listAppRoleAssignedTo,

    /** https://learn.microsoft.com/en-us/graph/api/user-list-sponsors (User.Read.All) */
    async listSponsors(userId, ctx) {
      const { items, answer } = await getAll(graphPath`/users/${userId}/sponsors`, { $select: 'id,displayName,mail' }, ctx)
      return result(items.map(mapSponsor), answer)
    },

    /**
     * GET /users?$filter=userType eq 'Guest'&$select=...,signInActivity&$top<=500: the recipe that
     * works on every tenant with the licence (a signInActivity filter may not be combined with
     * userType, so dates are compared by the caller). https://learn.microsoft.com/en-us/graph/api/user-list
     */
    async listGuestsWithSignInActivity(query, ctx) {
      const params = { $filter: `userType eq 'Guest'`, $select: `${USER_FIELDS},signInActivity`, $top: String(Math.min(query.top, 500)) }
      return getPage('/users', params, false, query.pageToken, (user) => ({ ...mapUser(user), signInActivity: mapSignInActivity(user.signInActivity) }), ctx)
    },

    async listUserAppRoleAssignments(userId, ctx) {
      const { items, answer } = await getAll(graphPath`/users/${userId}/appRoleAssignments`, undefined, ctx)
      return result(ownAssignments(items.map(mapAssignment), userId), answer)
    },

    /**
     * The user's direct groups (GET /users/{id}/memberOf/microsoft.graph.group?$select=id),
     * not the group's members: a guest is in few groups, a group can hold the whole tenant, and
     * filtering a member list is an eventually consistent advanced query, unfit to settle a
     * write made a moment ago. https://learn.microsoft.com/en-us/graph/api/user-list-memberof
     * (GroupMember.Read.All)
     */
    async isGroupMember(groupId, userId, ctx) {
      const path = graphPath`/users/${userId}/memberOf/microsoft.graph.group`
      const { items, answer } = await getAll(path, { $select: 'id', $top: '999' }, ctx)
      const wanted = groupId.toLowerCase()
      return result(items.some((group) => typeof group.id === 'string' && group.id.toLowerCase() === wanted), answer)
    },

    listUserAppRoleAssignmentsOn,

    /**
     * Reads the assignment through its principal (the id starts with the principal's object id:
     * app-role-assignment-id.ts), so the cost is the principal's assignments, never the app's.
     * When the id does not decode, or the decoded principal is no user we can read, falls back
     * to the assignment by key: appRoleAssignedTo is a contained navigation (ContainsTarget in
     * the v1.0 metadata), GET /servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}.
     */
    async getAppRoleAssignment(servicePrincipalId, assignmentId, ctx) {
      const principalId = principalIdOfAssignment(assignmentId)
      if (principalId !== undefined) {
        try {
          const held = await listUserAppRoleAssignmentsOn(principalId, servicePrincipalId, ctx)
          return { ...held, value: held.value.find((assignment) => assignment.id === assignmentId) ?? null }
        } catch (error) {
          if (!isGraphError(error, [404])) throw error
        }
      }
      try {
        const path = graphPath`/servicePrincipals/${servicePrincipalId}/appRoleAssignedTo/${assignmentId}`
        const answer = await send({ method: 'GET', path }, ctx)
        if (!isJson(answer.body)) throw invalidResponse('Graph returned no assignment', answer)
        return result<AppRoleAssignment | null>(mapAssignment(answer.body), answer)
      } catch (error) {
        if (isGraphError(error, [404])) return fromError<AppRoleAssignment | null>(null, error)
        throw error
      }
    },

    // A 500 ("Unable to find target address" among others) may follow a created guest: it is
    // not sent again here; the caller settles it by reading (findUsersByEmail).
    invite: postInvitation,

    resetRedemption: postInvitation,

    async deleteUser(id, ctx) {
      const answer = await send({ method: 'DELETE', path: graphPath`/users/${id}` }, ctx)
      return result<Change>({ changed: true, value: undefined }, answer)
    },

    addGroupMember: (groupId, userId, ctx) => changeUnless(already, {
      method: 'POST', path: graphPath`/groups/${groupId}/members/$ref`, body: { '@odata.id': CANONICAL_GRAPH_URL + graphPath`/directoryObjects/${userId}` },
    }, ctx),

    removeGroupMember: (groupId, userId, ctx) =>
      // Never without /$ref: that would delete the user object itself. A user that no longer
      // exists is not a member either; a missing group stays an error.
      changeUnless((error) => isGraphError(error, [404], /does not exist/i) && error.graphMessage.includes(`'${userId}'`) || notThere(error),
        { method: 'DELETE', path: graphPath`/groups/${groupId}/members/${userId}/$ref` }, ctx),

    async assignAppRole(servicePrincipalId, input, ctx) {
      const body = { principalId: input.principalId, resourceId: servicePrincipalId, appRoleId: input.appRoleId }
      try {
        const answer = await send({ method: 'POST', path: graphPath`/servicePrincipals/${servicePrincipalId}/appRoleAssignedTo`, body }, ctx)
        if (!isJson(answer.body)) throw invalidResponse('Graph returned no assignment', answer)
        return result({ changed: true, value: mapAssignment(answer.body) }, answer)
      } catch (error) {
        if (!isGraphError(error, [400], /Permission being assigned already exists/i)) throw error
        const existing = await listUserAppRoleAssignmentsOn(input.principalId, servicePrincipalId, ctx)
        const assignment = existing.value.find((a) => a.appRoleId === input.appRoleId)
        // Not listed yet (replication lag): Graph's answer is all we can report.
        if (!assignment) throw error
        return { ...existing, value: { changed: false, value: assignment } }
      }
    },

    /** https://learn.microsoft.com/en-us/graph/api/user-post-sponsors (User.ReadWrite.All) */
    addSponsor: (userId, sponsor, ctx) => changeUnless(already, {
      method: 'POST', path: graphPath`/users/${userId}/sponsors/$ref`,
      body: { '@odata.id': CANONICAL_GRAPH_URL + (sponsor.type === 'group' ? graphPath`/groups/${sponsor.id}` : graphPath`/users/${sponsor.id}`) },
    }, ctx),

    /**
     * https://learn.microsoft.com/en-us/graph/api/user-delete-sponsors (User.ReadWrite.All). Never
     * without /$ref: that deletes the sponsor's own user object. Not a sponsor: unchanged; a
     * missing user stays an error.
     */
    removeSponsor: (userId, sponsorId, ctx) => changeUnless(notThere, { method: 'DELETE', path: graphPath`/users/${userId}/sponsors/${sponsorId}/$ref` }, ctx),

    /** https://learn.microsoft.com/en-us/graph/api/user-update (User.ReadWrite.All) */
    async setAccountEnabled(userId, enabled, ctx) {
      const answer = await send({ method: 'PATCH', path: graphPath`/users/${userId}`, body: { accountEnabled: enabled } }, ctx)
      return result<Change>({ changed: true, value: undefined }, answer)
    },

    /** https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions (User.ReadWrite.All) */
    /**
     * Any 2xx is done: Graph documents 204 and answers 200 with a boolean that is always true
     * (https://learn.microsoft.com/en-us/graph/known-issues, "Revoke sign-in sessions returns
     * wrong HTTP code": "consider any 2XX response code as a success"). Revoking moves the
     * sessions' valid-from time, so it always changes something.
     */
    async revokeSignInSessions(userId, ctx) {
      const answer = await send({ method: 'POST', path: graphPath`/users/${userId}/revokeSignInSessions` }, ctx)
      return result<Change>({ changed: true, value: undefined }, answer)
    },

    async removeAppRoleAssignment(servicePrincipalId, assignmentId, ctx) {
      try {
        const path = graphPath`/servicePrincipals/${servicePrincipalId}/appRoleAssignedTo/${assignmentId}`
        const answer = await send({ method: 'DELETE', path }, ctx)
        return result<Change>({ changed: true, value: undefined }, answer)
      } catch (error) {
        if (isGraphError(error, [404])) return fromError<Change>({ changed: false, value: undefined }, error)
        throw error
      }
    },
  }
}
