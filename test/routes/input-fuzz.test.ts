// Bad input never gets a 500: every operation of the committed spec receives malformed bodies,
// params and query strings (deterministic pseudo-random cases) from a caller holding every role.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { build } from '../helper.js'

const ALL_ROLES = ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read']
const GUEST = 'f0000000-0000-4000-8000-000000000002'

function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

t.test('no operation answers 5xx to malformed input', async (t) => {
  const { as, token } = await build(t)
  const caller = await token(ALL_ROLES)
  const spec = JSON.parse(await readFile('openapi/openapi.json', 'utf8'))
  const next = random(42)
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!
  const values = (): unknown => pick<() => unknown>([
    () => null, () => true, () => -1, () => 1e308, () => 3.5, () => '', () => 'x'.repeat(5000), () => '\u0000\u202e💥',
    () => "' OR 1=1 --", () => '../../etc/passwd', () => 'jane+x@partner.example', () => 'jane@partner.example', () => GUEST,
    () => [], () => [GUEST, GUEST], () => ({}), () => ({ $ne: null }), () => ({ email: { nested: [1, 2] } }),
    () => 'https://evil.example/', () => 'DocuSign.Admin',
  ])()
  const segments = () => pick([GUEST, 'not-a-guid', '%2e%2e', 'a'.repeat(300), '00000000-0000-0000-0000-000000000000', '😀', '1', '0', '-1'])
  let requests = 0
  for (const [path, operations] of Object.entries<Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; parameters?: { in: string; name: string }[] }>>(spec.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const bodyFields = Object.keys(op.requestBody?.content['application/json']?.schema.properties ?? {})
      const queryFields = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name)
      for (let i = 0; i < 25; i++) {
        const url = path.replace(/\{[^}]+\}/g, () => encodeURIComponent(segments()))
        const query = queryFields.filter(() => next() < 0.5).map((name) => `${name}=${encodeURIComponent(String(values()))}`).join('&')
        const body = next() < 0.2 ? values() : Object.fromEntries(bodyFields.filter(() => next() < 0.7).map((f) => [f, values()]))
        const res = await as(caller, { method: method.toUpperCase(), url: query ? `${url}?${query}` : url, payload: method === 'get' || method === 'delete' ? undefined : body as object })
        requests++
        t.ok(res.statusCode < 500, `${method.toUpperCase()} ${url}?${query} ${JSON.stringify(body)?.slice(0, 120)} -> ${res.statusCode} ${res.statusCode >= 500 ? res.body : ''}`)
      }
    }
  }
  t.ok(requests > 300, `${requests} requests sent`)
})
