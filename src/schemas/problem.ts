import { Type, type Static } from '@sinclair/typebox'
import { PROBLEM_CODES } from '../errors.js'
import { StringEnum } from './enum.js'

export const FieldErrorSchema = Type.Object({
  field: Type.String({ description: 'Where the error is: body/email, query/limit, params/id, header/authorization' }),
  message: Type.String(),
}, { $id: 'FieldError', additionalProperties: false })

/** RFC 9457 problem details, with guestgate's extensions. */
export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'URI naming the kind of problem: urn:guestgate:problem:<code>' }),
  title: Type.String(),
  status: Type.Integer({ minimum: 400, maximum: 599 }),
  detail: Type.String(),
  instance: Type.String({ description: 'The request path' }),
  code: StringEnum(PROBLEM_CODES, { description: 'Stable machine-readable code (the last part of type)' }),
  requestId: Type.String(),
  errors: Type.Optional(Type.Array(Type.Ref('FieldError'))),
  rule: Type.Optional(Type.String({ description: 'Policy rule that denied the request' })),
  reason: Type.Optional(Type.String()),
  policyVersion: Type.Optional(Type.String()),
  existingUserId: Type.Optional(Type.String()),
  operationId: Type.Optional(Type.String({ description: 'Audit operation id of the attempted change' })),
  retryAfterSeconds: Type.Optional(Type.Number()),
  graphStatus: Type.Optional(Type.Integer()),
  graphErrorCode: Type.Optional(Type.String()),
  graphRequestId: Type.Optional(Type.String()),
  guests: Type.Optional(Type.Array(Type.Object({
    id: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    displayName: Type.Union([Type.String(), Type.Null()]),
  }, { additionalProperties: false }), { description: 'Clean-up safety gate: the guests the run would have removed (nothing was done)' })),
  maxRemovalsPerRun: Type.Optional(Type.Integer({ description: 'Clean-up safety gate: removals one run may make (policy file cleanup.maxRemovalsPerRun)' })),
}, { $id: 'Problem', additionalProperties: false, description: 'RFC 9457 problem details (application/problem+json)' })
export type Problem = Static<typeof ProblemSchema>

export const ProblemRef = Type.Unsafe<Problem>(Type.Ref('Problem'))


/** A response entry typed as application/problem+json in the spec and the serializer. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemRef } },
})

export const standardProblemResponses = {
  400: problemResponse('The request is not valid: each bad field is listed in errors. No text field may hold control characters (an invitation message may hold tabs and line breaks) or unpaired surrogates.'),
  401: problemResponse('Missing or invalid bearer token'),
  403: problemResponse('The policy does not allow this: rule and reason say why (the refusal is in the audit log under operationId)'),
  429: problemResponse('The caller sent too many requests: retry after Retry-After seconds (RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset say more)'),
  500: problemResponse('Internal error (no internals shown)'),
  503: problemResponse('A dependency (database, audit log, Graph, or the identity provider\'s signing keys) is unavailable, so nothing was done: retry after Retry-After. With code token_keys_unavailable the token could not be checked (it was not refused): keep it and retry, do not sign in again'),
}
