// The README's walk-through as a portal developer writes it: a client generated from
// /openapi.json by openapi-typescript, called with openapi-fetch, and not one cast. It is
// type-checked against freshly generated types (./schema.ts, written by
// test/openapi/generated-client.test.ts) and then run against the app.
import createClient from 'openapi-fetch'
import type { components, paths } from './schema.js'

type Problem = components['schemas']['Problem']
type Guest = components['schemas']['Guest']

// Compile-time checks of the contract: each line fails to type-check if the document regresses.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
export const contract = {
  invitationStateIsAnEnumOrNull: true satisfies Equal<Guest['invitationState'], 'PendingAcceptance' | 'Accepted' | null>,
  outcomeIsAnEnum: true satisfies Equal<components['schemas']['InvitationResult']['outcome'], 'complete' | 'partial'>,
  partStatusIsAnEnum: true satisfies Equal<components['schemas']['OperationPart']['status'], 'succeeded' | 'unchanged' | 'kept' | 'failed'>,
  problemCodeIsClosed: true satisfies Equal<Extract<Problem['code'], 'policy_denied' | 'rate_limited'>, 'policy_denied' | 'rate_limited'>,
  problemCodeIsNoString: true satisfies Equal<string extends Problem['code'] ? true : false, false>,
}

/** Every mutating operation may also answer a dry run (?dryRun=true, its own media type): the
 *  answer of a real request is the one without `dryRun`. A type guard, not a cast. */
const applied = <T extends object>(data: T): data is Exclude<T, { dryRun: true }> => !('dryRun' in data)

const DEVELOPERS = 'd0000000-0000-4000-8000-000000000001'
const DOCUSIGN = 'a0000000-0000-4000-8000-000000000001'

export interface Step {
  step: string
  status: number
}

export interface WalkthroughResult {
  steps: Step[]
  guestId: string
  location: string | null
  refusal: Problem['code'] | null
  exportedCsv: string
}

export async function walkthrough(baseUrl: string, email: string): Promise<WalkthroughResult> {
  const steps: Step[] = []
  const record = (step: string, response: Response) => steps.push({ step, status: response.status })
  const anonymous = createClient<paths>({ baseUrl })

  async function clientFor(roles: string[]) {
    const minted = await anonymous.POST('/v1/sandbox/tokens', { body: { roles, name: 'Ada Admin' } })
    if (!minted.data) throw new Error(`no token: ${minted.response.status}`)
    return createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${minted.data.accessToken}` } })
  }
  const inviter = await clientFor(['Guests.Invite'])
  const groupAdmin = await clientFor(['Groups.ManageMembers'])
  const appAdmin = await clientFor(['Apps.AssignRoles'])
  const manager = await clientFor(['Guests.Manage'])
  const auditor = await clientFor(['Audit.Read'])

  // 1. Invite
  const invited = await inviter.POST('/v1/invitations', { body: { email, displayName: 'Jane Doe', sendEmail: false } })
  record('invite', invited.response)
  if (!invited.data || !applied(invited.data)) throw new Error(`invitation refused: ${invited.error?.code ?? invited.response.status}`)
  const guestId = invited.data.id
  const location = invited.response.headers.get('location')
  const outcome: 'complete' | 'partial' = invited.data.outcome

  // 2. Group
  const added = await groupAdmin.PUT('/v1/groups/{groupId}/members/{userId}', { params: { path: { groupId: DEVELOPERS, userId: guestId } } })
  record('group', added.response)

  // 3. App role, by value, after looking at what can be granted
  const roles = await appAdmin.GET('/v1/apps/{appId}/roles', { params: { path: { appId: DOCUSIGN } } })
  record('app roles', roles.response)
  const sender = roles.data?.items.find((role) => role.value === 'DocuSign.Sender' && role.canGrant)
  const granted = await appAdmin.POST('/v1/apps/{appId}/assignments', {
    params: { path: { appId: DOCUSIGN } },
    body: { principalId: guestId, ...(sender ? { appRoleId: sender.id } : { appRole: 'DocuSign.Sender' }) },
  })
  record('app role', granted.response)

  // 4. Resend
  const resent = await inviter.POST('/v1/guests/{id}/resend-invitation', { params: { path: { id: guestId } }, body: {} })
  record('resend', resent.response)

  // 5. Read: a list without limit (it has a default), then the guest with its access
  const pending = await inviter.GET('/v1/guests', { params: { query: { state: 'PendingAcceptance', domain: email.split('@')[1] } } })
  record('list', pending.response)
  const read = await inviter.GET('/v1/guests/{id}', { params: { path: { id: guestId } } })
  record('read', read.response)
  const state: 'PendingAcceptance' | 'Accepted' | null = read.data?.invitationState ?? null
  if (state !== 'PendingAcceptance' || outcome !== 'complete') throw new Error(`unexpected state ${state} / ${outcome}`)
  const holds = read.data?.groups.some((group) => group.id === DEVELOPERS) && read.data.appRoleAssignments.some((assignment) => assignment.appId === DOCUSIGN)
  if (!holds) throw new Error('the guest does not hold the group and the role')

  // A refusal is a typed problem: its code is one of a closed set.
  const refused = await inviter.POST('/v1/invitations', { body: { email: 'eve@evil.example' } })
  record('refused invite', refused.response)
  const refusal = refused.error?.code ?? null

  // 6. Revoke
  const revoked = await manager.POST('/v1/guests/{id}/revoke-access', { params: { path: { id: guestId } } })
  record('revoke', revoked.response)
  if (!revoked.data || !applied(revoked.data)) throw new Error(`revoke refused: ${revoked.error?.code ?? revoked.response.status}`)
  const failedParts = revoked.data.parts.filter((part) => part.status === 'failed')
  if (failedParts.length > 0) throw new Error(`revoke failed for ${failedParts.map((part) => part.target).join(', ')}`)

  // 7. Audit: query (no limit given) and export
  const events = await auditor.GET('/v1/audit/events', { params: { query: { targetId: guestId } } })
  record('audit query', events.response)
  const exported = await auditor.GET('/v1/audit/export', { params: { query: { format: 'csv', targetId: guestId } }, parseAs: 'text' })
  record('audit export', exported.response)

  // 8. Clean up
  const deleted = await manager.DELETE('/v1/guests/{id}', { params: { path: { id: guestId } } })
  record('delete', deleted.response)

  return { steps, guestId, location, refusal, exportedCsv: exported.data ?? '' }
}
