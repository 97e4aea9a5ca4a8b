// Every body the simulator answers uses only property names and JSON types that the
// Graph v1.0 slice (test/fixtures/graph, from Microsoft's own metadata) defines.
import t from 'tap'
import { appRoleAssignmentShape, groupShape, servicePrincipalShape, userShape } from '../../../src/graph/simulator/representations.js'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { CsdlModel } from './csdl-model.js'
import { directoryObjectRef, inviteGuest, startSimulator, type GraphAnswer } from './simulator-client.js'
import { repoFile } from '../../helpers/repo.js'

const model = CsdlModel.read(repoFile('test/fixtures/graph/graph-v1.0-guest-slice.csdl.xml'))
const { docuSign } = SEED.apps
const { existingGuest } = SEED.users

t.test('the CSDL reader follows BaseType, Collection(...) and Nullable', async (t) => {
  t.match(model.property('user', 'id'), { type: 'Edm.String', nullable: false }, 'id comes from entity through directoryObject')
  t.match(model.property('user', 'deletedDateTime'), { type: 'Edm.DateTimeOffset', nullable: true })
  t.match(model.property('user', 'otherMails'), { type: 'Edm.String', collection: true, nullable: false })
  t.match(model.property('servicePrincipal', 'appRoles'), { type: 'appRole', collection: true })
  t.match(model.property('invitation', 'invitedUser'), { type: 'user', navigation: true })
  t.match(model.property('appRole', 'id'), { type: 'Edm.Guid' })
  t.equal(model.property('user', 'favouriteColour'), undefined)
  t.ok(model.hasType('invitedUserMessageInfo'))
})

t.test('the checker rejects made-up properties, wrong JSON types and misplaced nulls', async (t) => {
  const user = { id: 'x', displayName: 'Jane', accountEnabled: true, otherMails: [], createdDateTime: '2024-01-15T09:00:00Z' }
  t.same(model.check('user', user), [])
  t.match(model.check('user', { ...user, favouriteColour: 'blue' }), [/user\.favouriteColour: not a property of user/])
  t.match(model.check('user', { ...user, accountEnabled: 'yes' }), [/expected a boolean/])
  t.match(model.check('user', { ...user, otherMails: null }), [/expected an array/])
  t.match(model.check('user', { ...user, otherMails: [1] }), [/otherMails\[0\]: expected a string/])
  t.match(model.check('user', { ...user, createdDateTime: 'yesterday' }), [/ISO 8601/])
  t.match(model.check('appRoleAssignment', { id: 'x', appRoleId: 'not-a-guid' }), [/GUID/])
  t.match(model.check('appRoleAssignment', { id: 'x', appRoleId: null }), [/not nullable/])
  t.match(model.check('servicePrincipal', { id: 'x', appRoles: [{ id: SEED.apps.jira.roles.user, isEnabled: true, allowedMemberTypes: [], colour: 'red' }] }), [
    /appRoles\[0\]\.colour: not a property of appRole/,
  ])
  t.match(model.check('invitation', { id: 'x', invitedUserMessageInfo: { ccRecipients: [{ emailAddress: { address: 'a@b.example', phone: '1' } }] } }), [
    /emailAddress\.phone: not a property of emailAddress/,
  ])
  t.match(model.check('group', { '@odata.type': '#microsoft.graph.user', id: 'x' }), [/@odata.type/])
})

t.test('every simulator endpoint answers bodies that conform to the slice', async (t) => {
  const graph = await startSimulator(t)
  const samples: Array<{ endpoint: string; type: string; answer: GraphAnswer; collection: boolean }> = []
  const sample = async (type: string, method: string, path: string, options: { body?: unknown; eventual?: boolean } = {}) => {
    const answer = await graph.request(method, path, { body: options.body, headers: options.eventual ? { ConsistencyLevel: 'eventual' } : {} })
    t.ok(answer.status >= 200 && answer.status < 300, `${method} ${path} answered ${answer.status}`)
    samples.push({ endpoint: `${method} ${path}`, type, answer, collection: Array.isArray(answer.body?.value) })
    return answer
  }
  const all = (properties: readonly string[]) => `$select=${properties.join(',')}`

  const invitation = await sample('invitation', 'POST', '/v1.0/invitations', {
    body: {
      invitedUserEmailAddress: 'shape@partner.example',
      inviteRedirectUrl: 'https://myapps.microsoft.com',
      invitedUserDisplayName: 'Shape Guest',
      sendInvitationMessage: true,
      invitedUserMessageInfo: { customizedMessageBody: 'Hi', messageLanguage: 'en-US', ccRecipients: [{ emailAddress: { address: 'cc@partner.example', name: 'CC' } }] },
      invitedUserType: 'Guest',
    },
  })
  const guest = (invitation.body as { invitedUser: { id: string } }).invitedUser.id
  await sample('invitation', 'POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: 'shape@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com', invitedUser: { id: guest }, resetRedemption: true },
  })
  await graph.request('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(guest) })
  const assignment = await sample('appRoleAssignment', 'POST', `/v1.0/servicePrincipals/${docuSign.id}/appRoleAssignedTo`, {
    body: { principalId: guest, resourceId: docuSign.id, appRoleId: docuSign.roles.sender },
  })
  for (let i = 0; i < 3; i++) await inviteGuest(graph, `page${i}@partner.example`)
  await graph.request('POST', `/v1.0/users/${guest}/sponsors/$ref`, { body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${SEED.users.adele.id}` } })
  const groupSponsored = await inviteGuest(graph, 'group-sponsored@partner.example')
  await graph.request('POST', `/v1.0/users/${groupSponsored}/sponsors/$ref`, { body: { '@odata.id': `https://graph.microsoft.com/v1.0/groups/${SEED.groups.marketing}` } })
  await sample('invitation', 'POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: 'with-sponsor@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com', invitedUserSponsors: [{ id: SEED.users.adele.id }] },
  })

  await sample('user', 'GET', '/v1.0/users')
  await sample('user', 'GET', `/v1.0/users?${all(userShape.properties)}&$top=2`)
  await sample('user', 'GET', `/v1.0/users?$filter=${encodeURIComponent("userType eq 'Guest' and endswith(mail,'@partner.example')")}&$count=true&${all(userShape.properties)}`, { eventual: true })
  await sample('user', 'GET', `/v1.0/users?$search=${encodeURIComponent('"displayName:shape"')}`, { eventual: true })
  await sample('user', 'GET', `/v1.0/users/${guest}`)
  await sample('user', 'GET', `/v1.0/users/${existingGuest.id}?${all(userShape.properties)}`)
  await sample('user', 'GET', `/v1.0/users/${SEED.users.adele.id}?${all(userShape.properties)}`)
  await sample('user', 'GET', `/v1.0/users/${existingGuest.id}?$select=id,accountEnabled,signInActivity`)
  await sample('user', 'GET', `/v1.0/users?$select=id,signInActivity&$filter=${encodeURIComponent('signInActivity/lastSignInDateTime le 2030-01-01T00:00:00Z')}`)
  await sample('user', 'GET', `/v1.0/users/${guest}/sponsors`)
  await sample('group', 'GET', `/v1.0/users/${groupSponsored}/sponsors?$select=id,displayName,mail`)
  await sample('group', 'GET', `/v1.0/users/${existingGuest.id}/memberOf`)
  await sample('group', 'GET', `/v1.0/users/${guest}/memberOf/microsoft.graph.group?${all(groupShape.properties)},description`)
  await sample('appRoleAssignment', 'GET', `/v1.0/users/${guest}/appRoleAssignments`)

  await sample('group', 'GET', '/v1.0/groups?$top=2')
  await sample('group', 'GET', `/v1.0/groups?$search=${encodeURIComponent('"displayName:partners"')}&$count=true`, { eventual: true })
  for (const groupId of Object.values(SEED.groups)) await sample('group', 'GET', `/v1.0/groups/${groupId}`)
  await sample('group', 'GET', `/v1.0/groups/${SEED.groups.allPartners}?$select=id,displayName,description,isAssignableToRole,groupTypes,membershipRule`)
  await sample('user', 'GET', `/v1.0/groups/${SEED.groups.developers}/members`)
  await sample('user', 'GET', `/v1.0/groups/${SEED.groups.developers}/members/microsoft.graph.user?${all(userShape.properties)}`)
  await sample('user', 'GET', `/v1.0/groups/${SEED.groups.developers}/members/microsoft.graph.user?$filter=${encodeURIComponent("userType eq 'Guest'")}&$count=true&$top=1`, { eventual: true })

  await sample('servicePrincipal', 'GET', '/v1.0/servicePrincipals')
  await sample('servicePrincipal', 'GET', `/v1.0/servicePrincipals?${all(servicePrincipalShape.properties)}&$top=1`)
  for (const app of Object.values(SEED.apps)) await sample('servicePrincipal', 'GET', `/v1.0/servicePrincipals/${app.id}`)
  await sample('appRoleAssignment', 'GET', `/v1.0/servicePrincipals/${docuSign.id}/appRoleAssignedTo?${all(appRoleAssignmentShape.properties)}`)
  await sample('appRoleAssignment', 'GET', `/v1.0/servicePrincipals/${docuSign.id}/appRoleAssignedTo/${(assignment.body as { id: string }).id}`)
  await sample('appRoleAssignment', 'GET', `/v1.0/servicePrincipals/${SEED.apps.guestgate.id}/appRoleAssignments`)
  await sample('appRoleAssignment', 'GET', `/v1.0/users/${guest}/appRoleAssignments?$filter=${encodeURIComponent(`resourceId eq ${docuSign.id}`)}`)

  t.ok(samples.some((s) => typeof s.answer.body['@odata.nextLink'] === 'string'), 'a paged answer is among the samples')
  t.ok(samples.some((s) => typeof s.answer.body['@odata.count'] === 'number'), 'a counted answer is among the samples')
  for (const { endpoint, type, answer, collection } of samples) {
    const objects = collection ? answer.body.value as unknown[] : [answer.body]
    if (collection) {
      const extra = Object.keys(answer.body).filter((key) => key !== 'value' && !key.startsWith('@odata.'))
      t.same(extra, [], `${endpoint}: a collection has only value and annotations`)
      t.ok(objects.length > 0, `${endpoint}: has items to check`)
    }
    t.same(objects.flatMap((object) => model.check(type, object)), [], endpoint)
  }

  const madeUp = { ...assignment.body, grantedBy: 'someone' }
  t.match(model.check('appRoleAssignment', madeUp), [/grantedBy: not a property of appRoleAssignment/], 'the same check fails on a made-up property')
})
