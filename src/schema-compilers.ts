// Route schemas are compiled when a route first needs them, not when the app starts. The app has
// about 60 routes, each with a validator per request part and a serializer per answer; a start,
// a test or a replica serving mostly reads uses a few of them. Compiling all of them up front cost
// about a second of CPU per app build (Ajv and fast-json-stringify in a profile), on every start
// and in every test that builds the app. test/schema-compilers.test.ts compiles every route's
// schemas, so a schema that cannot compile still fails CI rather than a first request. The Graph
// simulator (a Fastify app of its own, built by every test that builds the app and by the
// sandbox's start) compiles its request schemas on first use too, with Fastify's own Ajv compiler.
import ValidatorSelector from '@fastify/ajv-compiler'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify'

/** What Fastify expects of a validator: an answer, and the last call's errors as a property. */
export type Validator = ReturnType<FastifySchemaCompiler<unknown>>

/** A validator that compiles on its first call; each call's errors are the compiled one's. */
export function validatorOnFirstUse(compile: () => Validator): Validator {
  let compiled: Validator | undefined
  const validate: Validator = (data: unknown) => {
    compiled ??= compile()
    const result = compiled(data)
    validate.errors = compiled.errors
    return result
  }
  return validate
}

/** A serializer that compiles on its first call. */
export function serializerOnFirstUse(compile: () => (data: unknown) => string): (data: unknown) => string {
  let compiled: ((data: unknown) => string) | undefined
  return (data) => (compiled ??= compile())(data)
}

/** Fastify's own serializer factory (fast-json-stringify with the context's shared schemas), compiling on first use. */
export function lazySerializerFactory(): SerializerSelector.SerializerFactory {
  const eager = SerializerSelector()
  return (externalSchemas, options) => {
    const compile = eager(externalSchemas, options)
    return (route) => serializerOnFirstUse(() => compile(route))
  }
}

/** Fastify's own validator factory (Ajv with the server's `ajv` options), compiling on first use. */
export function lazyValidatorFactory(): ValidatorSelector.ValidatorFactory {
  const eager = ValidatorSelector()
  return (externalSchemas, options) => {
    const compile = eager(externalSchemas, options)
    return (route) => validatorOnFirstUse(() => compile(route) as Validator) as ReturnType<ValidatorSelector.ValidatorCompiler>
  }
}

/** The server option that installs them: serializers for guestgate (src/server-options.ts; its
 *  validators are its own, src/validation.ts), both for the Graph simulator. */
export const lazySchemaController = (options: { validators?: boolean } = {}): FastifyServerOptions['schemaController'] => ({
  compilersFactory: { buildSerializer: lazySerializerFactory(), ...(options.validators ? { buildValidator: lazyValidatorFactory() } : {}) },
})
