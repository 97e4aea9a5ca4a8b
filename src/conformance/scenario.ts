// The conformance scenario: the sandbox's seed walk-through (invite, group, app role, resend,
// reset redemption, revoke, delete) through guestgate's own Graph gateway, against any Graph
// endpoint. It creates one guest of its own in a test domain and removes it again, even when a
// step fails. Each step keeps the (redacted) HTTP exchanges it caused as evidence of what Graph
// answered; a step fails when Graph answers differently from what guestgate is built on.
import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import {
  type AppRole,
  type AppRoleAssignment,
  type GraphCallContext,
  type GraphGateway,
  GraphRequestError,
} from '../graph/graph-gateway.js'
import type { GraphExchange } from '../graph/graph-exchange.js'
import { retryWhileNotReplicated, type ReplicationRetry } from '../graph/replication.js'

export interface ConformanceSettings {
  /** A domain the tenant may invite and nobody reads mail for, e.g. a test partner's. */
  testDomain: string
  /** A plain security group guestgate may manage. */
  groupId: string
  /** Service principal (enterprise application) id, and the value of a role users can hold. */
  appId: string
  appRole: string
  redirectUrl: string
  /** Send the invitation e-mails (off: the invitations are created without mail). */
  sendEmail: boolean
  replication: ReplicationRetry
}

export type StepStatus = 'pass' | 'fail' | 'skip'

export interface StepResult {
  step: string
  status: StepStatus
  detail: string
  exchanges: GraphExchange[]
}

export interface ConformanceReport {
  startedAt: string
  finishedAt: string
  graphBaseUrl: string
  guestEmail: string
  guestId: string | null
  passed: boolean
  steps: StepResult[]
}

class Mismatch extends Error {}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Mismatch(message)
}

const describe = (error: unknown): string =>
  error instanceof GraphRequestError ? `Graph answered ${error.status || 'nothing'} ${error.code}: ${error.graphMessage}` : error instanceof Error ? error.message : String(error)

/** Drains what the recorder collected since the last call. */
export interface ExchangeLog {
  take(): GraphExchange[]
}

export async function runConformance(
  gateway: GraphGateway,
  settings: ConformanceSettings,
  log: ExchangeLog,
  graphBaseUrl: string,
): Promise<ConformanceReport> {
  const startedAt = new Date().toISOString()
  const email = `guestgate-conformance-${randomBytes(4).toString('hex')}@${settings.testDomain}`
  const ctx = (): GraphCallContext => ({ correlationId: randomUUID() })
  const replicated = <T>(call: () => Promise<T>) => retryWhileNotReplicated(settings.replication, call)
  const steps: StepResult[] = []
  // Written by the steps (closures): declared so that TypeScript does not narrow it to null after them.
  let guestId = null as string | null
  let invitedId: string | null = null
  let role: AppRole | undefined
  let assignment: AppRoleAssignment | undefined
  let failed = false

  async function step(name: string, body: () => Promise<string>): Promise<void> {
    if (failed) {
      steps.push({ step: name, status: 'skip', detail: 'an earlier step failed', exchanges: [] })
      return
    }
    try {
      const detail = await body()
      steps.push({ step: name, status: 'pass', detail, exchanges: log.take() })
    } catch (error) {
      failed = true
      steps.push({ step: name, status: 'fail', detail: describe(error), exchanges: log.take() })
    }
  }

  await step('read the app and its role', async () => {
    const sp = (await gateway.getServicePrincipal(settings.appId, ctx())).value
    role = sp.appRoles.find((r) => r.value === settings.appRole)
    expect(role !== undefined, `${sp.displayName} has no role ${settings.appRole}`)
    expect(role.isEnabled && role.allowedMemberTypes.includes('User'), `${settings.appRole} is not an enabled role for users`)
    return `${sp.displayName}: ${role.value} (${role.id})`
  })

  await step('read the group', async () => {
    const group = (await gateway.getGroup(settings.groupId, ctx())).value
    expect(!group.isAssignableToRole && !group.isDynamic, `${group.displayName} is role-assignable or dynamic: pick a plain security group`)
    return `${group.displayName}: a plain group`
  })

  await step('invite', async () => {
    expect((await gateway.findUsersByEmail(email, ctx())).value.length === 0, `${email} already exists`)
    const invitation = (await gateway.invite({ invitedUserEmailAddress: email, inviteRedirectUrl: settings.redirectUrl, invitedUserDisplayName: 'guestgate conformance', sendInvitationMessage: settings.sendEmail }, ctx())).value
    guestId = invitation.invitedUserId
    invitedId = guestId
    expect(invitation.invitedUserType === 'Guest', `invitedUserType is ${invitation.invitedUserType}`)
    expect(invitation.status === 'PendingAcceptance', `status is ${invitation.status}`)
    return `${email} is guest ${guestId}`
  })

  await step('read the guest', async () => {
    const user = (await replicated(() => gateway.getUser(guestId as string, ctx()))).value
    expect(user.userType === 'Guest', `userType is ${user.userType}`)
    expect(user.externalUserState === 'PendingAcceptance', `externalUserState is ${user.externalUserState}`)
    expect(user.mail?.toLowerCase() === email, `mail is ${user.mail}`)
    return `${user.userPrincipalName}, ${user.externalUserState}`
  })

  await step('add to the group (twice: the second is unchanged)', async () => {
    const first = await replicated(() => gateway.addGroupMember(settings.groupId, guestId as string, ctx()))
    expect(first.value.changed, 'the first add reported no change')
    const second = await gateway.addGroupMember(settings.groupId, guestId as string, ctx())
    expect(!second.value.changed, 'adding again was not "already exists"')
    expect((await gateway.isGroupMember(settings.groupId, guestId as string, ctx())).value, 'the guest\'s memberOf does not list the group')
    return `member (Graph answered ${first.status}, then ${second.status})`
  })

  await step('assign the app role (twice: the second returns the same assignment)', async () => {
    const first = await replicated(() => gateway.assignAppRole(settings.appId, { principalId: guestId as string, appRoleId: (role as AppRole).id }, ctx()))
    expect(first.value.changed, 'the first assignment reported no change')
    assignment = first.value.value
    const second = await gateway.assignAppRole(settings.appId, { principalId: guestId as string, appRoleId: (role as AppRole).id }, ctx())
    expect(!second.value.changed && second.value.value.id === assignment.id, 'assigning again did not return the existing assignment')
    const read = (await gateway.getAppRoleAssignment(settings.appId, assignment.id, ctx())).value
    expect(read?.id === assignment.id, 'the assignment cannot be read back by id')
    return `assignment ${assignment.id}`
  })

  await step('resend (the same address again)', async () => {
    const invitation = (await gateway.invite({ invitedUserEmailAddress: email, inviteRedirectUrl: settings.redirectUrl, sendInvitationMessage: settings.sendEmail }, ctx())).value
    expect(invitation.invitedUserId === guestId, `Graph invited ${invitation.invitedUserId}, not the guest`)
    return `re-invited ${guestId}`
  })

  await step('reset redemption', async () => {
    const invitation = (await gateway.resetRedemption({ invitedUserId: guestId as string, invitedUserEmailAddress: email, inviteRedirectUrl: settings.redirectUrl, sendInvitationMessage: settings.sendEmail }, ctx())).value
    expect(invitation.invitedUserId === guestId, 'the reset made another user')
    const user = (await gateway.getUser(guestId, ctx())).value
    expect(user.externalUserState === 'PendingAcceptance', `externalUserState is ${user.externalUserState}`)
    expect((await gateway.isGroupMember(settings.groupId, guestId, ctx())).value, 'the reset dropped the group membership')
    return 'same object, pending again, memberships kept'
  })

  await step('revoke (group and app role, twice: the second is unchanged)', async () => {
    expect((await gateway.removeGroupMember(settings.groupId, guestId as string, ctx())).value.changed, 'removing the member reported no change')
    expect(!(await gateway.removeGroupMember(settings.groupId, guestId as string, ctx())).value.changed, 'removing again was not "does not exist"')
    const id = (assignment as AppRoleAssignment).id
    expect((await gateway.removeAppRoleAssignment(settings.appId, id, ctx())).value.changed, 'removing the assignment reported no change')
    expect(!(await gateway.removeAppRoleAssignment(settings.appId, id, ctx())).value.changed, 'removing again was not a 404')
    expect(!(await gateway.isGroupMember(settings.groupId, guestId as string, ctx())).value, 'the guest is still a member')
    expect((await gateway.getAppRoleAssignment(settings.appId, id, ctx())).value === null, 'the assignment still exists')
    return 'no membership, no assignment'
  })

  await step('delete', async () => {
    const id = guestId as string
    await gateway.deleteUser(id, ctx())
    guestId = null
    // A read may still find the user for a moment (replication): ask again with backoff.
    for (let attempt = 0; ; attempt++) {
      try {
        await gateway.getUser(id, ctx())
      } catch (error) {
        if (error instanceof GraphRequestError && error.status === 404) return `${id} deleted`
        throw error
      }
      expect(attempt < settings.replication.retries, 'the guest can still be read after its deletion')
      await delay(settings.replication.baseDelayMs * 2 ** attempt)
    }
  })

  if (guestId !== null) {
    // A step failed after the invitation: the guest must not stay behind.
    const leftover = guestId
    try {
      await gateway.deleteUser(leftover, ctx())
      steps.push({ step: 'clean up', status: 'pass', detail: `deleted ${leftover}`, exchanges: log.take() })
    } catch (error) {
      steps.push({ step: 'clean up', status: 'fail', detail: `${leftover} is left behind: ${describe(error)}`, exchanges: log.take() })
    }
  }

  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    graphBaseUrl,
    guestEmail: email,
    guestId: invitedId,
    passed: steps.every((s) => s.status === 'pass'),
    steps,
  }
}

/** A plain-text table of the steps. */
export function formatSteps(report: ConformanceReport): string {
  const width = Math.max('STEP'.length, ...report.steps.map((s) => s.step.length))
  const lines = [`${'STEP'.padEnd(width)}  RESULT  DETAIL`]
  for (const s of report.steps) lines.push(`${s.step.padEnd(width)}  ${(s.status === 'pass' ? 'pass' : s.status.toUpperCase()).padEnd(6)}  ${s.detail}`)
  const count = (status: StepStatus) => report.steps.filter((s) => s.status === status).length
  lines.push('', `${report.passed ? 'CONFORMANT' : 'NOT CONFORMANT'}: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped against ${report.graphBaseUrl}`)
  return lines.join('\n')
}
