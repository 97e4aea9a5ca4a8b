import t from 'tap'
import { GraphRequestError, isAmbiguousFailure, isNotYetReplicated } from '../../src/graph/graph-gateway.js'

const error = (status: number, code: string, message = 'x', retryAfterSeconds?: number) =>
  new GraphRequestError(status, code, message, undefined, retryAfterSeconds)

t.test('isAmbiguousFailure: the write may or may not have been applied', async (t) => {
  const cases: Array<[string, unknown, boolean]> = [
    ['Timeout', error(0, 'Timeout'), true],
    ['NetworkError (connection dropped)', error(0, 'NetworkError'), true],
    ['InvalidResponse on a 2xx', error(201, 'InvalidResponse'), true],
    ['InvalidResponse on an object without id', error(0, 'InvalidResponse'), true],
    ['ClientError (unknown SDK failure)', error(0, 'ClientError'), true],
    ['500', error(500, 'generalException'), true],
    ['502', error(502, 'BadGateway'), true],
    ['504', error(504, 'GatewayTimeout'), true],
    ['503 without Retry-After', error(503, 'serviceNotAvailable'), true],
    ['503 with Retry-After', error(503, 'serviceNotAvailable', 'x', 2), false],
    ['429', error(429, 'TooManyRequests', 'x', 1.5), false],
    ['429 without Retry-After', error(429, 'TooManyRequests'), false],
    ['400', error(400, 'Request_BadRequest'), false],
    ['403', error(403, 'Authorization_RequestDenied'), false],
    ['404', error(404, 'Request_ResourceNotFound'), false],
    ['ConnectionFailed (never sent)', error(0, 'ConnectionFailed'), false],
    ['TokenAcquisitionFailed (never sent)', error(0, 'TokenAcquisitionFailed'), false],
    ['not a Graph error', new RangeError('Not a usable Graph object id'), false],
    ['not an error', 'boom', false],
  ]
  for (const [name, failure, ambiguous] of cases) t.equal(isAmbiguousFailure(failure), ambiguous, name)
})

t.test('isNotYetReplicated: Graph codes first, Graph wording for the 400s', async (t) => {
  const cases: Array<[string, unknown, boolean]> = [
    ['path reference: 404 Request_ResourceNotFound', error(404, 'Request_ResourceNotFound', "Resource 'f0' does not exist or one of its queried reference-property objects are not present."), true],
    ['body reference: added references don\'t exist', error(400, 'Request_BadRequest', "One or more added object references don't exist for the following modified properties: 'members'."), true],
    ['body reference: objects being referenced do not exist', error(400, 'Request_BadRequest', 'The source resource object or one of the objects being referenced do not exist.'), true],
    ['a typographic apostrophe', error(400, 'Request_BadRequest', 'One or more added object references don’t exist for the following modified properties: \'members\'.'), true],
    ['already a member', error(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'."), false],
    ['dynamic group', error(400, 'Request_BadRequest', 'Members cannot be added to a group with dynamic membership.'), false],
    ['duplicate assignment', error(400, 'Request_BadRequest', 'Permission being assigned already exists on the object'), false],
    ['403', error(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'), false],
    ['500', error(500, 'generalException', 'does not exist'), false],
    ['not a Graph error', new Error("Resource 'x' does not exist"), false],
  ]
  for (const [name, failure, expected] of cases) t.equal(isNotYetReplicated(failure), expected, name)
})
