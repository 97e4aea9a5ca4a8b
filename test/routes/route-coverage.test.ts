// Structural: every route the app registers either says it is public or names the policy action
// it performs, and really asks the policy: a token from another tenant, with every role, is
// refused by every non-public route.
import Fastify, { type RouteOptions } from 'fastify'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { build } from '../helper.js'
import type { Problem } from '../helpers/replies.js'

const ALL_ROLES = ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read']
const OTHER_TENANT = '99999999-9999-4999-8999-999999999999'
const SOME_ID = 'f0000000-0000-4000-8000-000000000002'

t.test('every non-public route performs an authorization check', async (t) => {
  const routes: RouteOptions[] = []
  const { as, token } = await build(t, {}, { onRoute: (route) => routes.push(route) })
  const apiRoutes = routes.filter((r) => r.method !== 'HEAD')
  const protectedRoutes = apiRoutes.filter((r) => !r.config?.public)
  t.ok(protectedRoutes.length >= 6, `found ${protectedRoutes.length} protected routes`)

  const foreign = await token(ALL_ROLES, { tenantId: OTHER_TENANT })
  const noRoles = await token([])
  for (const route of protectedRoutes) {
    const methods = ([] as string[]).concat(route.method)
    for (const method of methods) {
      const url = route.url.replace(/:[A-Za-z]+/g, SOME_ID)
      const config = route.config as { authorization?: { action: string; subject: string } }
      t.ok(config.authorization, `${method} ${route.url} names its policy action`)
      const fromForeignTenant = await as(foreign, { method, url, payload: method === 'GET' || method === 'DELETE' ? undefined : {} })
      t.equal(fromForeignTenant.statusCode, 403, `${method} ${route.url}: a token from another tenant is refused`)
      t.equal(fromForeignTenant.json<Problem>().rule, 'tenant.mismatch', `${method} ${route.url}: by the tenant rule`)
      if (config.authorization?.subject !== 'Self') {
        const withoutRoles = await as(noRoles, { method, url, payload: method === 'GET' || method === 'DELETE' ? undefined : {} })
        t.equal(withoutRoles.statusCode, 403, `${method} ${route.url}: a token without roles is refused`)
      }
    }
  }
})

t.test('a route that names neither public nor an authorization stops the app from starting', async (t) => {
  const { config } = await build(t)
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(buildApp, { config })
    app.get('/v1/forgotten', async () => ({ oops: true }))
    await app.ready()
  }, /declares neither config\.public nor config\.authorization/)
})
