// The request text rules (src/validation.ts, src/schemas/text.ts): every string of every request
// schema refuses NUL, other control characters and lone surrogates, and every uuid is lower-cased,
// without a schema having to ask for it.
import { Type } from '@sinclair/typebox'
import t from 'tap'
import { MultilineText } from '../src/schemas/text.js'
import { createValidatorCompiler, withRequestRules } from '../src/validation.js'

const compile = createValidatorCompiler()
const validator = (schema: unknown, httpPart = 'body') =>
  compile({ schema, httpPart, method: 'POST', url: '/x' }) as unknown as { (data: unknown): boolean; errors?: { instancePath: string; message: string }[] }

t.test('every string node gets the rule, however deep; multi-line only where the schema says so', async (t) => {
  const schema = Type.Object({
    name: Type.String(),
    message: MultilineText(),
    tags: Type.Array(Type.String()),
    nested: Type.Object({ either: Type.Union([Type.Literal('a'), Type.String({ minLength: 2 })]) }),
    ids: Type.Array(Type.String({ format: 'uuid' })),
  })
  const ruled = withRequestRules(schema) as { properties: Record<string, Record<string, unknown>> }
  t.equal(ruled.properties.name!['x-text'], 'line')
  t.equal(ruled.properties.message!['x-text'], 'multiline')
  t.equal((ruled.properties.tags!.items as Record<string, unknown>)['x-text'], 'line')
  t.equal((ruled.properties.ids!.items as Record<string, unknown>)['x-canonical'], 'lowercase')
  t.notOk('x-text' in (schema.properties.name as object), 'the route\'s own schema (and so the OpenAPI document) is left as it was')

  const validate = validator(schema)
  const ok = { name: 'Zoë 🧑‍💻', message: 'Hello,\r\n\tthe team', tags: ['a'], nested: { either: 'bc' }, ids: ['D0000000-0000-4000-8000-00000000000A'] }
  t.ok(validate(ok), JSON.stringify(validate.errors))
  t.same(ok.ids, ['d0000000-0000-4000-8000-00000000000a'], 'uuids are lower-cased in place')

  const refused: [string, unknown, string][] = [
    ['NUL in a name', { ...ok, name: 'Ada\u0000' }, '/name'],
    ['a lone high surrogate', { ...ok, name: 'Ada \ud83d' }, '/name'],
    ['a lone low surrogate', { ...ok, name: '\udc00Ada' }, '/name'],
    ['an escape character', { ...ok, name: '\u001b[31mAda' }, '/name'],
    ['a newline in a single-line field', { ...ok, name: 'Ada\nLovelace' }, '/name'],
    ['DEL', { ...ok, name: 'Ada\u007f' }, '/name'],
    ['a C1 control', { ...ok, name: 'Ada\u0085' }, '/name'],
    ['NUL in a multi-line field', { ...ok, message: 'Hello\u0000' }, '/message'],
    ['a vertical tab in a multi-line field', { ...ok, message: 'Hello\u000b' }, '/message'],
    ['NUL in an array item', { ...ok, tags: ['a', 'b\u0000'] }, '/tags/1'],
    ['NUL inside a union', { ...ok, nested: { either: 'b\u0000c' } }, '/nested/either'],
    ['a urn:uuid: id', { ...ok, ids: ['urn:uuid:d0000000-0000-4000-8000-00000000000a'] }, '/ids/0'],
  ]
  for (const [name, data, path] of refused) {
    t.notOk(validate(structuredClone(data)), name)
    t.ok(validate.errors?.some((e) => e.instancePath === path), `${name}: the error is at ${path} (${JSON.stringify(validate.errors)})`)
  }
  t.throws(() => validator(Type.Object({ part: Type.Ref('Elsewhere') })), /must be inline/, 'a $ref would escape the rules: refused at start')
})

t.test('query strings and path params: %00 and friends are refused, uuids canonical', async (t) => {
  const validate = validator(Type.Object({ search: Type.String(), id: Type.String({ format: 'uuid' }) }), 'querystring')
  const query = { search: 'x\u0000', id: 'F0000000-0000-4000-8000-000000000002' }
  t.notOk(validate(query))
  const clean = { search: 'x', id: 'F0000000-0000-4000-8000-000000000002' }
  t.ok(validate(clean))
  t.equal(clean.id, 'f0000000-0000-4000-8000-000000000002')
})
