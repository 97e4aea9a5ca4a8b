// One error handler and one not-found handler: every error leaves as application/problem+json.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isDatabaseUnreachable, isStatementTimeout } from '../db/database-health.js'
import { databaseUnavailable, ProblemError, problemTypeUri, type FieldError } from '../errors.js'
import { GraphRequestError } from '../graph/graph-gateway.js'
import { problemFromGraphError } from '../graph/graph-problems.js'
import type { Problem } from '../schemas/problem.js'

export default fp(async function errors(app: FastifyInstance) {
  app.setNotFoundHandler(async (request, reply) =>
    sendProblem(request, reply, new ProblemError(404, 'route_not_found', 'Not found', `No route ${request.method} ${request.url.split('?')[0]}`)))

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const problem = toProblemError(error)
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ code: problem.code, status: problem.status }, 'request refused')
    return sendProblem(request, reply, problem)
  })
}, { name: 'errors' })

/** Errors the router raises before any route or hook runs (Fastify's frameworkErrors server
 *  option, see server-options.ts): the same problem documents as everything else. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // The router ignores what this returns; the reply is sent here.
  void sendProblem(request, reply, toProblemError(error))
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemError) {
  const body: Problem = {
    type: problemTypeUri(problem.code),
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    instance: request.url.split('?')[0] ?? request.url,
    code: problem.code,
    requestId: String(request.id),
    ...problem.extras,
  }
  return reply.code(problem.status).headers(problem.headers).type('application/problem+json').send(body)
}

function toProblemError(error: FastifyError): ProblemError {
  if (error instanceof ProblemError) return error
  // A query that found the database gone, or stuck behind a lock past statement_timeout.
  if (isDatabaseUnreachable(error) || isStatementTimeout(error)) return databaseUnavailable(error)
  if (error instanceof GraphRequestError) return problemFromGraphError(error)
  if (error.validation) {
    const context = error.validationContext === 'querystring' ? 'query' : error.validationContext === 'headers' ? 'header' : error.validationContext ?? 'body'
    const errors = error.validation.map((v): FieldError => fieldError(context, v))
    return new ProblemError(400, 'validation_failed', 'Request is not valid',
      errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors })
  }
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new ProblemError(400, 'validation_failed', 'Request is not valid', 'The path is not valid: malformed percent-encoding',
        { errors: [{ field: 'params', message: 'is not a valid URL component (malformed percent-encoding)' }] })
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ProblemError(414, 'uri_too_long', 'URI too long', 'A path parameter is longer than this API accepts',
        { errors: [{ field: 'params', message: 'is too long' }] })
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError(413, 'body_too_large', 'Request body too large', 'The request body is larger than this API accepts',
        { errors: [{ field: 'body', message: 'is too large' }] })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProblemError(415, 'unsupported_media_type', 'Unsupported media type', 'Send the body as application/json',
        { errors: [{ field: 'header/content-type', message: 'must be application/json' }] })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ProblemError(400, 'validation_failed', 'Request is not valid', 'The JSON body is empty',
        { errors: [{ field: 'body', message: 'must not be empty' }] })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ProblemError(400, 'malformed_body', 'Request is not valid', 'The body is not valid JSON',
        { errors: [{ field: 'body', message: 'must be valid JSON' }] })
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new ProblemError(error.statusCode, 'bad_request', 'Request is not valid', 'The request could not be processed')
  }
  return new ProblemError(500, 'internal_error', 'Internal error', 'Something went wrong on our side. The request id identifies it in our logs.')
}

interface AjvError {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

function fieldError(context: string, v: AjvError): FieldError {
  const segments = v.instancePath.split('/').filter(Boolean)
  if (v.keyword === 'required') segments.push(String(v.params.missingProperty))
  if (v.keyword === 'additionalProperties') segments.push(String(v.params.additionalProperty))
  const field = [context, ...segments].join('/')
  const message = v.keyword === 'additionalProperties' ? 'is not a known field'
    : v.keyword === 'required' ? 'is required'
    : v.message ?? 'is invalid'
  return { field, message }
}
