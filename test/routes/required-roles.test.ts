// x-required-roles in the OpenAPI document tells portals which roles may call an operation: every
// role the shipped policy lets do the operation's action must be in it, or a portal built from the
// contract hides what a user may in fact do.
import type { RouteOptions } from 'fastify'
import t from 'tap'
import { API_ROLES } from '../../src/auth/principal.js'
import { build } from '../helper.js'

t.test('every role the shipped policy lets call an operation is among its x-required-roles', async (t) => {
  // Before: the four report operations named Guests.Manage only, while config/policy.sandbox.yaml
  // (and docs/reports.md's example) gives Audit.Read reports.read.
  const routes: RouteOptions[] = []
  const { app } = await build(t, {}, { onRoute: (route) => routes.push(route) })
  const spec = app.swagger() as unknown as { paths: Record<string, Record<string, { 'x-required-roles'?: string[] }>> }
  const policy = app.policies.current()
  let checked = 0
  for (const route of routes) {
    const authorization = route.config?.authorization
    if (!authorization) continue
    const path = route.url.replace(/:(\w+)/g, '{$1}')
    for (const method of [route.method].flat()) {
      const operation = spec.paths[path]?.[method.toLowerCase()]
      if (!operation) continue
      const documented = operation['x-required-roles'] ?? []
      for (const role of API_ROLES) {
        const decision = policy.decideAny({ oid: '0b000000-0000-4000-8000-000000000001', name: 'r', tenantId: app.config.tenantId, roles: [role] }, authorization.action, authorization.subject)
        if (decision.allowed) t.ok(documented.includes(role), `${method} ${path}: ${role} may (${authorization.subject}.${authorization.action}), and is documented`)
        checked++
      }
    }
  }
  t.ok(checked > 100, `${checked} role x operation pairs checked`)
})
