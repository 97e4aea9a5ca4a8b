// Request validation: bodies are taken as sent (no type coercion, unknown fields rejected, all
// errors reported); query strings and path params are coerced, since they arrive as text.
import Ajv, { type Options } from 'ajv'
import addFormats from 'ajv-formats'
import { OptionalKind } from '@sinclair/typebox'
import type { FastifySchemaCompiler } from 'fastify'

function makeAjv(options: Options) {
  const ajv = new Ajv.default({ allErrors: true, removeAdditional: false, useDefaults: true, strict: false, ...options })
  addFormats.default(ajv)
  return ajv
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodies = makeAjv({ coerceTypes: false })
  const text = makeAjv({ coerceTypes: 'array' })
  return ({ schema, httpPart }) => {
    if (httpPart !== 'body') return text.compile(schema as object)
    const validate = bodies.compile(schema as object)
    // Type.Optional(body): a request may come without one (POST .../resend-invitation).
    if ((schema as { [OptionalKind]?: string })[OptionalKind] !== 'Optional') return validate
    const optional: { (data: unknown): boolean; errors?: typeof validate.errors } = (data) => {
      if (data === undefined || data === null) return true
      const valid = validate(data)
      optional.errors = validate.errors
      return valid
    }
    return optional
  }
}
