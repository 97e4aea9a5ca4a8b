// Hygiene reports, read from Graph on request (guestgate keeps no copy of the directory):
// - pending-invitations: guests whose invitation is still PendingAcceptance after N days. Graph
//   keeps no invitation date; the pending state's start (externalUserStateChangeDateTime), else
//   the account's creation (createdDateTime), is when it was sent.
// - guests-without-access: guests in no group and on no app that the policy file manages
//   (read once per group and app, not once per guest).
// - inactive-guests: no sign-in of any kind for N days (signInActivity; never signed in: counted
//   from createdDateTime). Needs Entra ID P1/P2 and AuditLog.Read.All; without the licence Graph
//   answers 403 and the caller gets 409 licence_required, not a 5xx.
import type { FastifyInstance } from 'fastify'
import type { DirectoryUser, GuestActivity, Page } from '../graph/graph-gateway.js'
import { isPremiumLicenceMissing } from '../graph/graph-gateway.js'
import { csvLine } from '../csv.js'
import { ProblemError } from '../errors.js'
import { identityOf } from '../routes/request-identity.js'
import type { Caller } from './caller.js'

export const REPORTS = ['pending-invitations', 'guests-without-access', 'inactive-guests'] as const
export type ReportName = (typeof REPORTS)[number]

export interface ReportRow {
  id: string
  email: string | null
  displayName: string | null
  [column: string]: string | number | boolean | null
}

export interface Report {
  report: ReportName
  generatedAt: string
  parameters: Record<string, number>
  count: number
  columns: string[]
  items: ReportRow[]
}

export interface ReportParameters {
  olderThanDays?: number
  days?: number
}

const DAY_MS = 86_400_000
const daysSince = (iso: string, now: number) => Math.floor((now - Date.parse(iso)) / DAY_MS)

async function allPages<T>(read: (pageToken?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = []
  let token: string | undefined
  do {
    const page = await read(token)
    items.push(...page.items)
    token = page.nextPageToken
  } while (token)
  return items
}

const base = (user: DirectoryUser) => ({ id: user.id, email: user.mail, displayName: user.displayName })

export async function buildReport(app: FastifyInstance, caller: Caller, name: ReportName, parameters: ReportParameters): Promise<Report> {
  const identity = identityOf(caller)
  const now = Date.now()
  const generatedAt = new Date(now).toISOString()
  switch (name) {
    case 'pending-invitations': {
      const olderThanDays = parameters.olderThanDays ?? 30
      const pending = await allPages((pageToken) => app.graphOps.read(identity, (graph, ctx) =>
        graph.listGuests({ state: 'PendingAcceptance', top: 999, pageToken }, ctx)))
      const items = pending.flatMap((user) => {
        const invitedAt = user.externalUserStateChangeDateTime ?? user.createdDateTime
        if (!invitedAt) return []
        const pendingDays = daysSince(invitedAt, now)
        return pendingDays >= olderThanDays ? [{ ...base(user), invitedAt, pendingDays }] : []
      }).sort((a, b) => b.pendingDays - a.pendingDays)
      return { report: name, generatedAt, parameters: { olderThanDays }, count: items.length, columns: ['id', 'email', 'displayName', 'invitedAt', 'pendingDays'], items }
    }
    case 'guests-without-access': {
      const policy = app.policies.current().policy
      const groupIds = [...new Set(Object.values(policy.roles).flatMap((role) => (role?.groups ?? []).map((g) => g.id)))]
      const appIds = [...new Set(Object.values(policy.roles).flatMap((role) => (role?.apps ?? []).map((a) => a.id)))]
      const holders = new Set<string>()
      for (const groupId of groupIds) {
        const members = await allPages((pageToken) => app.graphOps.read(identity, (graph, ctx) =>
          graph.listGroupMembers(groupId, { guestsOnly: true, top: 999, pageToken }, ctx)))
        members.forEach((m) => holders.add(m.id))
      }
      for (const appId of appIds) {
        const assignments = await app.graphOps.read(identity, (graph, ctx) => graph.listAppRoleAssignedTo(appId, {}, ctx))
        assignments.forEach((a) => holders.add(a.principalId))
      }
      const guests = await allPages((pageToken) => app.graphOps.read(identity, (graph, ctx) => graph.listGuests({ top: 999, pageToken }, ctx)))
      const items = guests.filter((g) => !holders.has(g.id))
        .map((g) => ({ ...base(g), externalUserState: g.externalUserState, createdDateTime: g.createdDateTime }))
      return { report: name, generatedAt, parameters: {}, count: items.length, columns: ['id', 'email', 'displayName', 'externalUserState', 'createdDateTime'], items }
    }
    case 'inactive-guests': {
      const days = parameters.days ?? 90
      let guests: GuestActivity[]
      try {
        guests = await allPages((pageToken) => app.graphOps.read(identity, (graph, ctx) => graph.listGuestsWithSignInActivity({ top: 500, pageToken }, ctx)))
      } catch (error) {
        if (isPremiumLicenceMissing(error)) {
          throw new ProblemError(409, 'licence_required', 'Microsoft Entra ID P1 required',
            'Sign-in activity (signInActivity) is only available in tenants with a Microsoft Entra ID P1 or P2 licence, and guestgate needs the AuditLog.Read.All permission to read it. This tenant has no such licence, so inactive guests cannot be found from sign-ins.',
            { graphStatus: 403, graphErrorCode: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant' })
        }
        throw error
      }
      const items = guests.flatMap((g) => {
        const activity = g.signInActivity
        const times = [activity?.lastSignInDateTime, activity?.lastNonInteractiveSignInDateTime, activity?.lastSuccessfulSignInDateTime]
          .filter((v): v is string => typeof v === 'string')
        const lastActivityAt = times.length > 0 ? times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b)) : null
        const since = lastActivityAt ?? g.createdDateTime
        if (!since) return []
        const inactiveDays = daysSince(since, now)
        if (inactiveDays < days) return []
        return [{
          ...base(g), lastActivityAt, neverSignedIn: lastActivityAt === null, inactiveDays,
          lastSignInDateTime: activity?.lastSignInDateTime ?? null,
          lastNonInteractiveSignInDateTime: activity?.lastNonInteractiveSignInDateTime ?? null,
          lastSuccessfulSignInDateTime: activity?.lastSuccessfulSignInDateTime ?? null,
        }]
      }).sort((a, b) => b.inactiveDays - a.inactiveDays)
      return {
        report: name, generatedAt, parameters: { days }, count: items.length,
        columns: ['id', 'email', 'displayName', 'lastActivityAt', 'neverSignedIn', 'inactiveDays', 'lastSignInDateTime', 'lastNonInteractiveSignInDateTime', 'lastSuccessfulSignInDateTime'],
        items,
      }
    }
  }
}

/** The report as CSV (src/csv.ts: RFC 4180, formula cells kept as text). */
export function reportCsv(report: Report): string {
  return [report.columns, ...report.items.map((row) => report.columns.map((c) => row[c]))].map(csvLine).join('')
}
