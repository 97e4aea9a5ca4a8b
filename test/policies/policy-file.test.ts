import t, { type Test } from 'tap'
import { loadPolicyFile, parsePolicyDocument, PolicyFileError } from '../../src/policies/policy-file.js'
import { repoFile } from '../helpers/repo.js'

const fixture = (name: string) => repoFile(`test/fixtures/policies/${name}`)

/** The PolicyFileError thrown for a document, or a failed assertion when it parses. */
function errorOf(t: Test, text: string, source = 'policy.yaml'): PolicyFileError {
  try {
    parsePolicyDocument(text, source)
  } catch (err) {
    t.type(err, PolicyFileError)
    return err as PolicyFileError
  }
  t.fail('the document was accepted')
  return new PolicyFileError(source, [])
}

const paths = (err: PolicyFileError) => err.errors.map((e) => e.path).sort()

const valid = `
version: "v1"
roles:
  Guests.Invite:
    invitations:
      allowDomains: [partner.example]
      redirectUrlPrefixes: ["https://myapps.microsoft.com/"]
`

t.test('the sandbox policy and the fixtures load', async (t) => {
  const sandbox = await loadPolicyFile(repoFile('config/policy.sandbox.yaml'))
  t.match(sandbox.version, /^2026-\d\d-\d\d\.\d+$/)
  t.same(sandbox.roles['Guests.Invite']?.invitations?.allowDomains, ['partner.example', 'fabrikam.example'])
  t.equal(sandbox.roles['Apps.AssignRoles']?.apps?.length, 2)

  const json = await loadPolicyFile(fixture('minimal.json'))
  t.equal(json.version, 'fixture-json.1')
  t.equal(json.roles['Audit.Read']?.audit?.read, true)

  const denyList = await loadPolicyFile(fixture('deny-list.yaml'))
  t.same(denyList.roles['Guests.Invite']?.invitations?.denyDomains, ['evil.example', 'gmail.com'], 'domains are lower-cased')
})

t.test('the loaded document is frozen: nobody changes the policy behind the engine', async (t) => {
  const doc = parsePolicyDocument(valid, 'policy.yaml')
  t.throws(() => {
    ;(doc.roles['Guests.Invite']!.invitations!.allowDomains as string[]).push('evil.example')
  })
})

t.test('a file with many problems lists every one with its path, and the file name', async (t) => {
  const err = await loadPolicyFile(fixture('invalid.yaml')).then(
    () => t.fail('accepted') as never,
    (e: unknown) => e as PolicyFileError,
  )
  t.type(err, PolicyFileError)
  t.equal(err.code, 'POLICY_FILE_INVALID')
  t.same(paths(err), [
    '/roles/Groups.ManageMembers/groups/0/id',
    '/roles/Guests.Admin',
    '/roles/Guests.Invite/guests/read',
    '/roles/Guests.Invite/invitations',
    '/roles/Guests.Invite/invitations/maxPerHour',
    '/roles/Guests.Invite/invitations/redirectUrlPrefixes/0',
    '/version',
  ])
  t.match(err.message, fixture('invalid.yaml'))
  for (const e of err.errors) t.match(err.message, `${e.path}: ${e.message}`)
  t.match(err.message, '/roles/Guests.Invite/invitations/redirectUrlPrefixes/0: must start with https://')
  t.match(err.message, '/roles/Guests.Invite/invitations: use allowDomains or denyDomains, not both')
  t.match(err.message, '/roles/Guests.Admin: is not an API role; expected one of Guests.Invite, Guests.Manage')
  t.match(err.message, '/roles/Groups.ManageMembers/groups/0/id: must be a GUID')
  t.match(err.message, '/version: is required')
})

const badFiles: { name: string; text: string; errors: Record<string, RegExp> }[] = [
  {
    name: 'missing version',
    text: 'roles: {}',
    errors: { '/version': /is required/ },
  },
  {
    name: 'version is not a string',
    text: 'version: 3\nroles: {}',
    errors: { '/version': /non-empty string/ },
  },
  {
    name: 'empty version',
    text: 'version: ""\nroles: {}',
    errors: { '/version': /non-empty string/ },
  },
  {
    name: 'missing roles and an unknown top-level key',
    text: 'version: v1\nrole: {}',
    errors: { '/roles': /is required/, '/role': /not a known key; expected one of version, description, limits, bundles, expiry, roles/ },
  },
  {
    name: 'wrong types',
    text: `
version: v1
roles:
  Guests.Invite:
    invitations: { allowDomains: partner.example, redirectUrlPrefixes: ["https://a.example/"], maxPerHour: 2.5 }
    guests: { read: "true" }
  Audit.Read:
    audit: yes
`,
    errors: {
      '/roles/Guests.Invite/invitations/allowDomains': /list of at least one domain/,
      '/roles/Guests.Invite/invitations/maxPerHour': /whole number/,
      '/roles/Guests.Invite/guests/read': /must be true or false/,
      '/roles/Audit.Read/audit': /must be a mapping/,
    },
  },
  {
    name: 'unknown keys at every level',
    text: `
version: v1
roles:
  Guests.Invite:
    invitation: {}
    guests: { read: true, write: true }
  Groups.ManageMembers:
    groups: [{ id: d0000000-0000-4000-8000-000000000001, add: true, owner: true }]
`,
    errors: {
      '/roles/Guests.Invite/invitation': /not a known key/,
      '/roles/Guests.Invite/guests/write': /not a known key; expected one of read, resend, resetRedemption, delete, revokeAccess/,
      '/roles/Groups.ManageMembers/groups/0/owner': /not a known key/,
    },
  },
  {
    name: 'unknown role names (role names are case-sensitive)',
    text: 'version: v1\nroles:\n  guests.invite: {}\n  Guests.Admin: {}',
    errors: { '/roles/guests.invite': /not an API role/, '/roles/Guests.Admin': /not an API role/ },
  },
  {
    name: 'redirect prefixes that are not https, not URLs, or carry a query',
    text: `
version: v1
roles:
  Guests.Invite:
    invitations:
      allowDomains: [partner.example]
      redirectUrlPrefixes: ["http://myapps.microsoft.com/", "myapps.microsoft.com/", "https://", "https://a.example/?next=", "https://user:pw@a.example/", "https://ok.example/"]
`,
    errors: {
      '/roles/Guests.Invite/invitations/redirectUrlPrefixes/0': /^must start with https:\/\/$/,
      '/roles/Guests.Invite/invitations/redirectUrlPrefixes/1': /must start with https:\/\//,
      '/roles/Guests.Invite/invitations/redirectUrlPrefixes/2': /not a valid URL/,
      '/roles/Guests.Invite/invitations/redirectUrlPrefixes/3': /query/,
      '/roles/Guests.Invite/invitations/redirectUrlPrefixes/4': /user name or password/,
    },
  },
  {
    name: 'no redirect prefix at all',
    text: 'version: v1\nroles:\n  Guests.Invite:\n    invitations: { allowDomains: [partner.example], redirectUrlPrefixes: [] }',
    errors: { '/roles/Guests.Invite/invitations/redirectUrlPrefixes': /at least one https:\/\/ URL prefix/ },
  },
  {
    name: 'allow and deny lists together, and neither',
    text: `
version: v1
roles:
  Guests.Invite:
    invitations: { allowDomains: [partner.example], denyDomains: [evil.example], redirectUrlPrefixes: ["https://a.example/"] }
  Guests.Manage:
    invitations: { redirectUrlPrefixes: ["https://a.example/"] }
`,
    errors: {
      '/roles/Guests.Invite/invitations': /use allowDomains or denyDomains, not both/,
      '/roles/Guests.Manage/invitations': /needs allowDomains .* or denyDomains/,
    },
  },
  {
    name: 'malformed domains',
    text: `
version: v1
roles:
  Guests.Invite:
    invitations: { allowDomains: ["*.partner.example", "bob@partner.example", "https://partner.example", "partner"], redirectUrlPrefixes: ["https://a.example/"] }
`,
    errors: {
      '/roles/Guests.Invite/invitations/allowDomains/0': /must be a domain name/,
      '/roles/Guests.Invite/invitations/allowDomains/1': /must be a domain name/,
      '/roles/Guests.Invite/invitations/allowDomains/2': /must be a domain name/,
      '/roles/Guests.Invite/invitations/allowDomains/3': /must be a domain name/,
    },
  },
  {
    name: 'malformed GUIDs',
    text: `
version: v1
roles:
  Groups.ManageMembers:
    groups: [{ id: Developers, add: true }, { id: "d0000000-0000-4000-8000-00000000001", add: true }]
  Apps.AssignRoles:
    apps: [{ id: 12345, grant: [X] }]
`,
    errors: {
      '/roles/Groups.ManageMembers/groups/0/id': /GUID/,
      '/roles/Groups.ManageMembers/groups/1/id': /GUID/,
      '/roles/Apps.AssignRoles/apps/0/id': /GUID/,
    },
  },
  {
    name: 'duplicate ids and domains (ids compared case-insensitively)',
    text: `
version: v1
roles:
  Guests.Invite:
    invitations: { denyDomains: [evil.example, EVIL.example], redirectUrlPrefixes: ["https://a.example/"] }
  Groups.ManageMembers:
    groups:
      - { id: d0000000-0000-4000-8000-000000000001, add: true }
      - { id: D0000000-0000-4000-8000-000000000001, remove: true }
  Apps.AssignRoles:
    apps:
      - { id: a0000000-0000-4000-8000-000000000001, grant: [A] }
      - { id: a0000000-0000-4000-8000-000000000001, grant: [B] }
`,
    errors: {
      '/roles/Guests.Invite/invitations/denyDomains/1': /duplicate of \/roles\/Guests.Invite\/invitations\/denyDomains\/0/,
      '/roles/Groups.ManageMembers/groups/1/id': /duplicate of \/roles\/Groups.ManageMembers\/groups\/0\/id/,
      '/roles/Apps.AssignRoles/apps/1/id': /duplicate of/,
    },
  },
  {
    name: 'not YAML',
    text: 'version: v1\nroles: [unclosed',
    errors: { '/': /not valid YAML/ },
  },
  {
    name: 'duplicate YAML keys (a role given twice)',
    text: 'version: v1\nroles:\n  Audit.Read: {}\n  Audit.Read: {}',
    errors: { '/': /not valid YAML: Map keys must be unique/ },
  },
  {
    name: 'an empty file',
    text: '',
    errors: { '/': /must be a mapping/ },
  },
]

for (const bad of badFiles) {
  t.test(`refused: ${bad.name}`, async (t) => {
    const err = errorOf(t, bad.text)
    t.same(paths(err), Object.keys(bad.errors).sort(), 'exactly these paths')
    for (const [path, message] of Object.entries(bad.errors)) {
      t.match(err.errors.find((e) => e.path === path)?.message, message, path)
    }
    t.match(err.message, /^Policy file policy\.yaml has \d+ errors?:/)
  })
}

t.test('JSON is read as JSON', async (t) => {
  const err = errorOf(t, '{ "version": "v1", "roles": { ', 'policy.json')
  t.match(err.errors[0]?.message, /not valid JSON/)
  t.equal(parsePolicyDocument('{ "version": "v1", "roles": {} }', 'policy.json').version, 'v1')
})

t.test('a file that cannot be read is a PolicyFileError too', async (t) => {
  await t.rejects(loadPolicyFile(fixture('no-such-file.yaml')), { name: 'PolicyFileError', errors: [{ path: '/', message: /ENOENT/ }] })
})

t.test('bundles and expiry caps: validated with pointers, names unique, each bundle with a part', async (t) => {
  const lines = [
    'version: "b1"',
    'bundles:',
    '  - { name: contractor-dev, groups: [D0000000-0000-4000-8000-000000000001], maxDays: 90, grantableBy: [Groups.ManageMembers] }',
    '  - { name: contractor-dev, groups: [d0000000-0000-4000-8000-000000000002], maxDays: 0, grantableBy: [Nobody] }',
    '  - { name: Empty Bundle, maxDays: 10, grantableBy: [Guests.Manage] }',
    'expiry: { reminderDaysBefore: [7, 1] }',
    'roles:',
    '  Groups.ManageMembers: { expiry: { maxDays: 30 } }',
  ]
  const error = t.throws(() => parsePolicyDocument(lines.join('\n'), 'bundles.yaml')) as PolicyFileError
  t.same(error.errors.map((e) => e.path), ['/bundles/1/grantableBy/0', '/bundles/1/maxDays', '/bundles/1/name', '/bundles/2', '/bundles/2/name'])
  t.match(error.errors.find((e) => e.path === '/bundles/1/name'), { message: /duplicate of \/bundles\/0\/name/ })
  t.match(error.errors.find((e) => e.path === '/bundles/2'), { message: 'needs at least one group or app role' })
  const valid = parsePolicyDocument([...lines.slice(0, 3), ...lines.slice(5)].join('\n'), 'bundles.yaml')
  t.same(valid.bundles?.[0]?.groups, ['d0000000-0000-4000-8000-000000000001'], 'ids lower-cased')
  t.equal(valid.roles['Groups.ManageMembers']?.expiry?.maxDays, 30)
})
