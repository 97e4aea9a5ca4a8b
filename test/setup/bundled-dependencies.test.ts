import { FormatRegistry, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import t from 'tap'

// Compiled test processes load tap, TypeBox and jose bundled (scripts/bundle-test-dependencies.mjs
// writes them to dist-test/node_modules/): tap's processinfo hook made each of their ES modules
// cost a round trip to its thread.
const compiled = import.meta.url.includes('/dist-test/')

t.test('compiled tests resolve tap, TypeBox and jose to their bundles', { skip: !compiled && 'run from source (tsx)' }, async (t) => {
  for (const specifier of ['tap', '@sinclair/typebox', '@sinclair/typebox/value', 'jose']) {
    t.match(import.meta.resolve(specifier), /\/dist-test\/node_modules\//, specifier)
  }
})

// TypeBox keeps its format registry as module state: the two entry points must share one copy,
// or a format registered through one is unknown to checks through the other.
t.test("TypeBox's entry points share one format registry", async (t) => {
  FormatRegistry.Set('guestgate-bundle-check', (value) => value === 'yes')
  t.teardown(() => FormatRegistry.Delete('guestgate-bundle-check'))
  const schema = Type.String({ format: 'guestgate-bundle-check' })
  t.equal(Value.Check(schema, 'yes'), true)
  t.equal(Value.Check(schema, 'no'), false)
})
