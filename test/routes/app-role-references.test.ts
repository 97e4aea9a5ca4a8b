// Issue 12, item 2: an app role named by value, by display name (any case) or by id is the same
// role on the single assignment route, in onboarding and in the what-if; an unknown role is a
// 422 listing the valid ones by name and value; a role the caller may not grant is a 403 naming
// what it may grant. Every path answers with the same status, code and message.
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'

const { docuSign } = SEED.apps
const GUEST = SEED.users.existingGuest.id
const VALID = 'DocuSign Sender (DocuSign.Sender), DocuSign Viewer (DocuSign.Viewer), DocuSign Admin (DocuSign.Admin)'
const MAY_GRANT = 'Apps.AssignRoles may grant DocuSign Sender (DocuSign.Sender) and DocuSign Viewer (DocuSign.Viewer) on DocuSign'

type Expected =
  | { allowed: true; roleId: string }
  | { status: 403; rule: string; message: string }
  | { status: 422; code: string; message: string }

const table: { name: string; reference: string; expected: Expected }[] = [
  { name: 'value', reference: 'DocuSign.Sender', expected: { allowed: true, roleId: docuSign.roles.sender } },
  { name: 'display name in another case', reference: 'docusign SENDER', expected: { allowed: true, roleId: docuSign.roles.sender } },
  { name: 'id', reference: docuSign.roles.viewer.toUpperCase(), expected: { allowed: true, roleId: docuSign.roles.viewer } },
  {
    name: 'unknown', reference: 'DocuSign Signer',
    expected: { status: 422, code: 'app_role_not_assignable', message: `DocuSign has no app role "DocuSign Signer" (by value, display name or id). Roles a guest can hold: ${VALID}.` },
  },
  {
    name: 'disabled', reference: 'DocuSign Legacy',
    expected: { status: 422, code: 'app_role_not_assignable', message: `DocuSign Legacy (DocuSign.Legacy) is disabled on DocuSign. Roles a guest can hold: ${VALID}.` },
  },
  {
    name: 'not grantable, by display name', reference: 'DocuSign admin',
    expected: { status: 403, rule: 'apps.role-not-granted', message: `${MAY_GRANT}, not DocuSign Admin (DocuSign.Admin).` },
  },
]

interface Answer { status: number; allowed?: boolean; rule?: string; code?: string; message?: string; roleId?: string }

t.test('the same role reference gets the same answer on every path', async (t) => {
  const { as, token } = await build(t)
  const caller = await token(['Guests.Invite', 'Apps.AssignRoles'])

  const single = async (reference: string): Promise<Answer> => {
    const res = await as(caller, { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: GUEST, appRole: reference } })
    const body = res.json<{ assignment?: { appRoleId: string }; rule?: string; code?: string; detail?: string }>()
    if (res.statusCode < 300) return { status: res.statusCode, allowed: true, roleId: body.assignment!.appRoleId }
    return { status: res.statusCode, rule: body.rule, code: body.code, message: body.detail }
  }
  let n = 0
  const onboarding = async (reference: string): Promise<Answer> => {
    const res = await as(caller, {
      method: 'POST', url: '/v1/invitations',
      payload: { email: `ref${n++}@partner.example`, sendEmail: false, appRoles: [{ appId: docuSign.id, appRole: reference }] },
    })
    const body = res.json<{ id?: string; parts?: { kind: string; status: string }[]; rule?: string; code?: string; detail?: string }>()
    if (res.statusCode >= 300) return { status: res.statusCode, rule: body.rule, code: body.code, message: body.detail }
    t.same(body.parts!.map((p) => `${p.kind} ${p.status}`), ['invitation succeeded', 'appRole succeeded'], `onboarding ${reference}: every part done`)
    const detail = (await as(caller, { method: 'GET', url: `/v1/guests/${body.id}` })).json<{ appRoleAssignments: { appRoleId: string }[] }>()
    return { status: res.statusCode, allowed: true, roleId: detail.appRoleAssignments[0]?.appRoleId }
  }
  const whatIf = async (reference: string): Promise<Answer> => {
    const res = await as(caller, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'assign', target: { appId: docuSign.id, appRole: reference } } })
    const body = res.json<{ allowed?: boolean; rule?: string; reason?: string; code?: string; detail?: string }>()
    if (res.statusCode !== 200) return { status: res.statusCode, code: body.code, message: body.detail }
    return body.allowed ? { status: 200, allowed: true } : { status: 403, rule: body.rule, message: body.reason }
  }

  for (const { name, reference, expected } of table) {
    const answers = { single: await single(reference), onboarding: await onboarding(reference), whatIf: await whatIf(reference) }
    for (const [path, answer] of Object.entries(answers)) {
      if ('allowed' in expected) {
        t.ok(answer.allowed && answer.status < 300, `${name} on ${path}: allowed (${answer.status} ${answer.message ?? ''})`)
        if (path !== 'whatIf') t.equal(answer.roleId, expected.roleId, `${name} on ${path}: the role granted`)
      } else {
        t.equal(answer.status, expected.status, `${name} on ${path}: ${expected.status}`)
        t.equal(answer.message, expected.message, `${name} on ${path}: the same message`)
        if ('rule' in expected) t.equal(answer.rule, expected.rule, `${name} on ${path}: rule`)
        else t.equal(answer.code, expected.code, `${name} on ${path}: code`)
      }
    }
  }

  // The field the 422 names is the one the request used, with the valid roles.
  const res = await as(caller, { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: GUEST, appRole: 'Nope' } })
  t.same(res.json<{ errors: unknown[] }>().errors, [{ field: 'body/appRole', message: `must name one of: ${VALID}` }])
})
