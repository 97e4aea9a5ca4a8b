import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { PolicyFileError } from '../../src/policies/policy-file.js'
import { createPolicyStore, type PolicyStoreLogger, type ReloadResult } from '../../src/policies/policy-store.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const env = { tenantId: TENANT, ownApplicationId: 'b0000000-0000-4000-8000-000000000004' }
const auditReader: Principal = { oid: 'o', name: 'n', tenantId: TENANT, roles: ['Audit.Read'] }

const policy = (version: string, exportAllowed: boolean) => `
version: "${version}"
roles:
  Audit.Read:
    audit: { read: true, export: ${exportAllowed} }
`

function recordingLogger() {
  const lines: { level: 'info' | 'error'; obj: object; msg: string }[] = []
  const logger: PolicyStoreLogger = {
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  }
  return { logger, lines }
}

function setup(t: Test, text: string) {
  const dir = t.testdir({ 'policy.yaml': text })
  const path = join(dir, 'policy.yaml')
  const { logger, lines } = recordingLogger()
  const store = createPolicyStore({ path, env, logger })
  return { path, store, lines }
}

t.test('load: a bad file throws PolicyFileError (the service must not start)', async (t) => {
  const { store } = setup(t, 'version: v1\nroles:\n  Guests.Admin: {}\n')
  await t.rejects(store.load(), PolicyFileError)
  t.throws(() => store.current(), /not loaded/)
})

t.test('reload with a good file switches to the new version', async (t) => {
  const { path, store, lines } = setup(t, policy('v1', false))
  await store.load()
  t.equal(store.current().version, 'v1')
  t.equal(store.current().decide(auditReader, 'export', { type: 'AuditLog' }).allowed, false)

  await writeFile(path, policy('v2', true))
  const result = await store.reload()
  t.same(result, { ok: true, version: 'v2', previousVersion: 'v1', changed: true })
  t.equal(store.current().version, 'v2')
  const decision = store.current().decide(auditReader, 'export', { type: 'AuditLog' })
  t.equal(decision.allowed, true)
  t.equal(decision.policyVersion, 'v2')
  t.match(lines.at(-1), { level: 'info', obj: { policyVersion: 'v2', previousVersion: 'v1' } })
})

t.test('reload with a bad file keeps the old engine and logs every error path', async (t) => {
  const { path, store, lines } = setup(t, policy('v1', true))
  const before = await store.load()

  await writeFile(path, 'version: v2\nroles:\n  Audit.Read:\n    audit: { read: maybe }\n  Guests.Admin: {}\n')
  const result = await store.reload()
  t.equal(result.ok, false)
  t.equal(result.version, 'v1')
  t.same(result.ok ? [] : result.errors.map((e) => e.path), ['/roles/Audit.Read/audit/read', '/roles/Guests.Admin'])
  t.equal(store.current(), before, 'same engine')
  t.equal(store.current().decide(auditReader, 'export', { type: 'AuditLog' }).allowed, true)

  const logged = lines.at(-1)!
  t.equal(logged.level, 'error')
  t.match(logged.msg, 'keeping policy version v1')
  t.match(logged.obj, { path, errors: [/^\/roles\/Audit\.Read\/audit\/read: /, /^\/roles\/Guests\.Admin: /] })
})

t.test('reload of a deleted file keeps the old engine', async (t) => {
  const { path, store } = setup(t, policy('v1', true))
  await store.load()
  await writeFile(path, '')
  const result = await store.reload()
  t.equal(result.ok, false)
  t.equal(store.current().version, 'v1')
})

t.test('an unchanged file keeps the engine (and its ability cache)', async (t) => {
  const { store } = setup(t, policy('v1', true))
  const before = await store.load()
  t.same(await store.reload(), { ok: true, version: 'v1', previousVersion: 'v1', changed: false })
  t.equal(store.current(), before)
})

t.test('a changed policy under the same version is refused: audit rows name policies by version', async (t) => {
  const { path, store } = setup(t, policy('v1', false))
  await store.load()
  await writeFile(path, policy('v1', true))
  const result = await store.reload()
  t.match(result, { ok: false, version: 'v1', errors: [{ path: '/version', message: /give it a new version/ }] })
  t.equal(store.current().decide(auditReader, 'export', { type: 'AuditLog' }).allowed, false)
})

t.test('SIGHUP reloads the file', async (t) => {
  const { path, store } = setup(t, policy('v1', false))
  await store.load()
  const listenersBefore = process.listenerCount('SIGHUP')
  const stop = store.watchSignal('SIGHUP')
  t.teardown(stop)

  await writeFile(path, policy('v2', true))
  const reloaded = once(store, 'reload')
  // Signals are delivered asynchronously and do not keep the event loop alive: this timer
  // does, and fails the test if the reload never comes.
  const deadline = setTimeout(() => t.fail('no reload within 10 s of SIGHUP'), 10_000)
  process.kill(process.pid, 'SIGHUP')
  const [result] = (await reloaded) as [ReloadResult]
  clearTimeout(deadline)
  t.match(result, { ok: true, version: 'v2' })
  t.equal(store.current().version, 'v2')

  stop()
  t.equal(process.listenerCount('SIGHUP'), listenersBefore, 'unsubscribed')
})

t.test('reloads run one after the other', async (t) => {
  const { path, store } = setup(t, policy('v1', false))
  await store.load()
  await writeFile(path, policy('v2', true))
  const results = await Promise.all([store.reload(), store.reload(), store.reload()])
  t.same(
    results.map((r) => r.ok && r.changed),
    [true, false, false],
    'only the first reload sees a change',
  )
})
