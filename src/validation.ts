// Request validation: bodies are taken as sent (no type coercion, unknown fields rejected, all
// errors reported); query strings and path params are coerced, since they arrive as text.
// Every schema is compiled with the request text rules of src/schemas/text.ts added to each of
// its string nodes: clean text everywhere, canonical (lower-case) object ids.
import Ajv, { type Options, type SchemaObject, type SchemaValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { OptionalKind } from '@sinclair/typebox'
import type { FastifySchemaCompiler } from 'fastify'
import { validatorOnFirstUse, type Validator } from './schema-compilers.js'
import { CANONICAL_KEYWORD, GUID, isCleanText, TEXT_KEYWORD, TEXT_RULE_MESSAGES, type TextRule } from './schemas/text.js'

function makeAjv(options: Options) {
  const ajv = new Ajv.default({ allErrors: true, removeAdditional: false, useDefaults: true, strict: false, ...options })
  addFormats.default(ajv)
  // ajv-formats also takes "urn:uuid:<id>": an Entra object id is the bare GUID.
  ajv.addFormat('uuid', GUID)
  const cleanText: SchemaValidateFunction = (rule: TextRule, data: string) => {
    if (isCleanText(data, rule)) return true
    cleanText.errors = [{ keyword: TEXT_KEYWORD, message: TEXT_RULE_MESSAGES[rule] ?? TEXT_RULE_MESSAGES.line, params: { rule } }]
    return false
  }
  ajv.addKeyword({ keyword: TEXT_KEYWORD, type: 'string', schemaType: 'string', errors: true, validate: cleanText })
  ajv.addKeyword({
    keyword: CANONICAL_KEYWORD,
    type: 'string',
    schemaType: 'string',
    modifying: true,
    validate: (form: string, data: string, _schema?: unknown, where?: { parentData?: Record<string | number, unknown>; parentDataProperty?: string | number }) => {
      if (form === 'lowercase' && where?.parentData !== undefined && where.parentDataProperty !== undefined) {
        where.parentData[where.parentDataProperty] = data.toLowerCase()
      }
      return true
    },
  })
  return ajv
}

const SUBSCHEMA_KEYS = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'additionalItems'] as const
const SUBSCHEMA_LIST_KEYS = ['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items'] as const
const SUBSCHEMA_MAP_KEYS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'] as const

function isStringNode(node: SchemaObject): boolean {
  return node.type === 'string' || (Array.isArray(node.type) && node.type.includes('string')) ||
    (node.type === undefined && (typeof node.const === 'string' || typeof node.format === 'string' || typeof node.pattern === 'string'))
}

/**
 * A copy of `schema` in which every string node carries the text rule (single-line unless the
 * schema says `x-text: multiline`) and every uuid node is lower-cased. Refs are refused: the
 * rules could not follow them into a schema compiled elsewhere.
 */
export function withRequestRules(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withRequestRules)
  if (typeof schema !== 'object' || schema === null) return schema
  const node = { ...(schema as SchemaObject) }
  if (typeof node.$ref === 'string') throw new Error(`Request schemas must be inline (found $ref ${node.$ref}): the request text rules apply to inline schemas only`)
  if (isStringNode(node)) {
    node[TEXT_KEYWORD] ??= 'line'
    if (node.format === 'uuid') node[CANONICAL_KEYWORD] ??= 'lowercase'
  }
  for (const key of SUBSCHEMA_KEYS) {
    if (typeof node[key] === 'object' && node[key] !== null && !Array.isArray(node[key])) node[key] = withRequestRules(node[key])
  }
  for (const key of SUBSCHEMA_LIST_KEYS) {
    if (Array.isArray(node[key])) node[key] = node[key].map(withRequestRules)
  }
  for (const key of SUBSCHEMA_MAP_KEYS) {
    if (typeof node[key] === 'object' && node[key] !== null) {
      node[key] = Object.fromEntries(Object.entries(node[key] as Record<string, unknown>).map(([name, sub]) => [name, withRequestRules(sub)]))
    }
  }
  return node
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodies = makeAjv({ coerceTypes: false })
  const text = makeAjv({ coerceTypes: 'array' })
  return ({ schema, httpPart }) => {
    // The rules now, so that a schema they cannot cover fails the start; Ajv's compilation on the
    // route's first request (why: src/schema-compilers.ts).
    const ruled = withRequestRules(schema) as SchemaObject
    const optional = (schema as { [OptionalKind]?: string })[OptionalKind] === 'Optional'
    return validatorOnFirstUse(() => compileValidator(ruled, httpPart, optional))
  }

  function compileValidator(ruled: SchemaObject, httpPart: string | undefined, optionalBody: boolean): Validator {
    if (httpPart !== 'body') return text.compile(ruled)
    const validate = bodies.compile(ruled)
    // Type.Optional(body): a request may come without one (POST .../resend-invitation).
    if (!optionalBody) return validate
    const optional: Validator = (data: unknown) => {
      if (data === undefined || data === null) return true
      const valid = validate(data)
      optional.errors = validate.errors
      return valid
    }
    return optional
  }
}
