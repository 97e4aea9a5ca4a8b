// Graph's error responses: the body shape, and the codes and messages Graph really uses
// for the cases the simulator reproduces (see notes/graph-facts.md).
import { RESET_ADDRESS_MISMATCH } from '../graph-gateway.js'
import type { Throttled } from './throttling.js'

export interface GraphErrorBody {
  error: {
    code: string
    message: string
    innerError: { date: string; 'request-id': string; 'client-request-id': string }
  }
}

/** Thrown by the simulator's handlers; the error handler turns it into Graph's body. */
export class GraphError extends Error {
  override readonly name = 'GraphError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export function graphErrorBody(code: string, message: string, ids: { requestId: string; clientRequestId: string }): GraphErrorBody {
  return {
    error: {
      code,
      message,
      // Graph writes the date without fraction or zone.
      innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId },
    },
  }
}

const badRequest = (message: string) => new GraphError(400, 'Request_BadRequest', message)
const unsupportedQuery = (message: string) => new GraphError(400, 'Request_UnsupportedQuery', message)

export const graphErrors = {
  accessTokenEmpty: () => new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.'),
  notFound: (id: string) =>
    new GraphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`),
  invalidObjectId: (id: string) => badRequest(`Invalid object identifier '${id}'.`),
  segmentNotFound: (segment: string) => new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`),
  unsupportedSegment: (path: string) => badRequest(`Unsupported segment type. ODataQuery: ${path}`),
  methodNotAllowed: () => new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.'),
  invalidVersion: (segment: string) => new GraphError(400, 'BadRequest', `Invalid version: ${segment}`),
  unreadableJson: () =>
    new GraphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'),
  unknownBodyProperty: (property: string, typeName: string) =>
    new GraphError(400, 'BadRequest', `The property '${property}' does not exist on type '${typeName}'. Make sure to only use property names that are defined by the type.`),
  wrongBodyType: (property: string, edmType: string) =>
    new GraphError(400, 'BadRequest', `Cannot convert the literal of property '${property}' to the expected type '${edmType}'.`),
  missingBodyProperty: (property: string, typeName: string) =>
    new GraphError(400, 'BadRequest', `Missing value for required property '${property}' of type '${typeName}'.`),

  // Invitations
  invalidEmail: () => new GraphError(400, 'BadRequest', 'The Primary SMTP Address is an invalid value'),
  invalidRedirectUrl: () => new GraphError(400, 'BadRequest', 'The Invite Redirect Url provided is invalid.'),
  invalidUserType: (value: string) => new GraphError(400, 'BadRequest', `The invitedUserType '${value}' is invalid. Valid values are 'Guest' and 'Member'.`),
  // resetRedemption: true needs invitedUser/id (DOC, invitation resource); the wording is SILENT.
  resetNeedsInvitedUser: () => new GraphError(400, 'BadRequest', 'The invitedUser/id relationship is required when resetRedemption is true.'),
  // invitedUser is read-only unless resetRedemption is true (DOC); the wording is SILENT.
  invitedUserReadOnly: () => new GraphError(400, 'BadRequest', "The property 'invitedUser' can only be set together with 'resetRedemption': true for a guest user."),
  resetOfMember: () => new GraphError(400, 'BadRequest', 'The redemption status can only be reset for a guest user.'),
  // OBS (MicrosoftDocs/azure-docs#71825, msgraph-beta-sdk-dotnet#394): the address is not on the user.
  resetAddressMismatch: () => new GraphError(400, 'BadRequest', RESET_ADDRESS_MISMATCH),
  tooManyCcRecipients: () => new GraphError(400, 'BadRequest', 'Only one cc recipient is supported in invitedUserMessageInfo.'),

  // Group membership
  memberAlreadyExists: () =>
    badRequest("One or more added object references already exist for the following modified properties: 'members'."),
  // Removing a non-member is a 400, not a 404 (https://learn.microsoft.com/en-us/graph/api/group-delete-members; graph-facts.md).
  memberDoesNotExist: () =>
    badRequest("One or more removed object references do not exist for the following modified properties: 'members'."),
  // A body reference to an object that is not replicated yet (graph-facts.md; group-post-members).
  addedReferencesMissing: () =>
    badRequest("One or more added object references don't exist for the following modified properties: 'members'."),
  referencedObjectsMissing: () => badRequest('The source resource object or one of the objects being referenced do not exist.'),
  insufficientPrivileges: () => new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
  // Graph refuses member changes of a dynamic group (https://learn.microsoft.com/en-us/entra/identity/users/groups-dynamic-membership:
  // members are managed by the rule); its exact status and wording are not documented (SILENT): a 400 here.
  dynamicGroupAdd: () => badRequest('Members cannot be added to a group with dynamic membership.'),
  dynamicGroupRemove: () => badRequest('Members cannot be removed from a group with dynamic membership.'),
  // "Only Microsoft 365 and security groups can be managed through the Microsoft Graph groups API.
  // Mail-enabled and distribution groups are read-only" (https://learn.microsoft.com/en-us/graph/api/resources/groups-overview);
  // the wording is the one Graph answers (microsoftgraph/microsoft-graph-docs#14827).
  mailEnabledGroupReadOnly: () => badRequest('Cannot Update a mail-enabled security groups and or distribution list.'),
  invalidReference: (reference: string) => badRequest(`Invalid URL format specified in @odata.id: '${reference}'.`),

  // Sponsors: the errors for a sixth sponsor, a sponsor twice and a non-sponsor are SILENT in the
  // docs (notes §9.2); these follow Graph's wording for the members relationship.
  tooManySponsors: () => badRequest('A user can have at most 5 sponsors.'),
  sponsorAlreadyExists: () => badRequest("One or more added object references already exist for the following modified properties: 'sponsors'."),
  sponsorDoesNotExist: () => badRequest("One or more removed object references do not exist for the following modified properties: 'sponsors'."),

  // signInActivity without an Entra ID P1/P2 licence (graph-lifecycle-facts.md §2: the message is
  // Microsoft's reporting troubleshooting doc, the code as seen in public code).
  premiumLicenceRequired: () => new GraphError(403, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', "Neither tenant is B2C or tenant doesn't have premium license"),

  // App role assignments
  assignmentExists: () => badRequest('Permission being assigned already exists on the object'),
  appRoleNotFound: (appId: string) => badRequest(`Permission being assigned was not found on application '${appId}'.`),
  appRoleNotForUsers: (roleValue: string, appId: string) =>
    badRequest(`The app role '${roleValue}' of application '${appId}' is not assignable to users: its allowedMemberTypes do not include 'User'.`),
  resourceMismatch: (resourceId: string) => badRequest(`The resourceId '${resourceId}' does not match the service principal in the request URL.`),

  // Throttling (https://learn.microsoft.com/en-us/graph/throttling: the 429's code and message)
  tooManyRequests: (throttled: Throttled) => new GraphError(429, 'TooManyRequests', 'Please retry again later.', {
    'retry-after': String(throttled.retryAfterSeconds),
    'x-ms-throttle-scope': throttled.scope,
    'x-ms-throttle-information': throttled.information,
  }),

  // OData query options
  advancedQueryRequired: () => unsupportedQuery('Unsupported Query.'),
  searchRequiresEventual: () =>
    unsupportedQuery("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"),
  unsupportedFilterProperty: (property: string, entityName: string) =>
    unsupportedQuery(`Unsupported or invalid query filter clause specified for property '${property}' of resource '${entityName}'.`),
  unknownFilterProperty: (property: string) => badRequest(`Property '${property}' does not exist as a declared property or extension property.`),
  invalidFilter: (detail: string) => new GraphError(400, 'BadRequest', `Invalid filter clause: ${detail}`),
  invalidSearch: (detail: string) => new GraphError(400, 'BadRequest', `Syntax error in $search: ${detail}`),
  unsupportedSearchProperty: (property: string, entityName: string) =>
    unsupportedQuery(`Search on property '${property}' of resource '${entityName}' is not supported.`),
  unknownSelectProperty: (property: string, typeName: string) =>
    new GraphError(400, 'BadRequest', `Parsing OData Select and Expand failed: Could not find a property named '${property}' on type '${typeName}'.`),
  invalidPageSize: (value: string) => badRequest(`Invalid page size specified: '${value}'. Must be between 1 and 999 inclusive.`),
  invalidSkipToken: () => badRequest('The specified skip token is invalid or has expired.'),
  unsupportedQueryOption: (option: string) => new GraphError(400, 'BadRequest', `Query option '${option}' is not supported by the Graph simulator.`),
}

/** Code and message of an injected fault that did not name its own. */
export function defaultFaultError(status: number): { code: string; message: string } {
  switch (status) {
    case 400: return { code: 'BadRequest', message: 'Bad request.' }
    case 401: return { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' }
    case 403: return { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' }
    case 404: return { code: 'Request_ResourceNotFound', message: 'Resource does not exist or one of its queried reference-property objects are not present.' }
    case 429: return { code: 'TooManyRequests', message: 'Too many requests. Please retry after the time given in the Retry-After header.' }
    case 500: return { code: 'generalException', message: 'General exception while processing.' }
    case 502: return { code: 'BadGateway', message: 'Bad gateway.' }
    case 503: return { code: 'serviceNotAvailable', message: 'Service is temporarily unavailable. Please retry later.' }
    case 504: return { code: 'GatewayTimeout', message: 'Gateway timeout.' }
    default: return { code: 'UnknownError', message: `Injected fault with status ${status}.` }
  }
}
