// Access that Graph changed is published as an event; an unchanged write is not.
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { EVENT_TYPES, type DomainEvent } from '../../src/plugins/events.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import type { InvitationReply, MembershipReply } from '../helpers/replies.js'
import { repoFile } from '../helpers/repo.js'

t.test('a group membership added, then added again, then removed: two events', async (t) => {
  const { app, as, token } = await build(t)
  const caller = await token(['Guests.Invite', 'Groups.ManageMembers'])
  const events: DomainEvent[] = []
  app.events.subscribe((event) => { events.push(event) })
  const guest = (await as(caller, { method: 'POST', url: '/v1/invitations', payload: { email: 'evented@partner.example', sendEmail: false } })).json<InvitationReply>().id
  const url = `/v1/groups/${SEED.groups.developers}/members/${guest}`
  const added = await as(caller, { method: 'PUT', url })
  await as(caller, { method: 'PUT', url })
  await as(caller, { method: 'DELETE', url })
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.same(events.map((e) => e.type), ['guest.access.granted', 'guest.access.removed'])
  t.match(events[0], { operationId: added.json<MembershipReply>().operationId, data: { guestId: guest, groupId: SEED.groups.developers } })
})

t.test('every event type a subscription may name is one guestgate publishes, and docs/webhooks.md lists it', async (t) => {
  // Before: guest.access.expiring was offered and never published (a subscriber waited for
  // nothing), and guest.access.expired was published but missing from the docs' table.
  const files = (await readdir(repoFile('src'), { recursive: true })).filter((file) => file.endsWith('.ts') && !file.startsWith('generated'))
  const sources = await Promise.all(files.filter((file) => file !== path.join('plugins', 'events.ts')).map((file) => readFile(repoFile(path.join('src', file)), 'utf8')))
  const docs = await readFile(repoFile('docs/webhooks.md'), 'utf8')
  for (const type of EVENT_TYPES) {
    t.ok(sources.some((text) => text.includes(`'${type}'`)), `${type} is published somewhere in src/`)
    t.match(docs, `| \`${type}\` |`, `${type} is in docs/webhooks.md's table`)
  }
})
