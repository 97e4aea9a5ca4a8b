// Decides every request: refusals no policy file can lift come first, then the CASL ability
// built from the principal's roles. Each decision names its rule and says why in a sentence.
import type { ForcedSubject } from '@casl/ability'
import { API_ROLES, EXPIRY_PRINCIPAL_OID, type ApiRole, type Principal } from '../auth/principal.js'
import { MICROSOFT_GRAPH_APP_ID } from '../graph/graph-gateway.js'
import { askedAppRole, createAbilityCache, emailDomain, subjectOf as subjectWith, type AppAbility } from './ability.js'
import { appRoleLabel, findAppRole, type AppRoleRef } from './app-roles.js'
import { policyRolesOf, protectedApplicationIds, sameTenant, type PolicyEnv, type PolicyRule } from './define-rules.js'
import { deepFreeze, type InvitationsPolicy, type PolicyDocument } from './policy-file.js'
import { isUnderPrefix, redirectUrlProblem } from './redirect-url.js'
import type {
  ExpiryCap,
  ExpiryCapQuestion,
  PermissionSummary,
  PolicyAction,
  PolicyContext,
  PolicyDecision,
  PolicyEngine,
  PolicySubject,
  PolicyTarget,
} from './types.js'

export interface AppPolicyEngine extends PolicyEngine {
  readonly policy: PolicyDocument
  /** The (cached) CASL ability of a principal, for checks outside decide(). */
  ability(principal: Principal): AppAbility
  /**
   * Route-level gate, before the target is known: may any of the principal's roles do this
   * action on some subject of this type? An allowed answer still needs decide() on the target.
   */
  decideAny(principal: Principal, action: PolicyAction, subject: PolicySubject): PolicyDecision
  /** The hourly invitation limits of a principal (see InvitationLimits). */
  invitationLimitsOf(principal: Principal): InvitationLimits
  /** The CASL subject of a target under this policy (app role entries resolved), for checks outside decide(). */
  subjectOf(target: PolicyTarget): ForcedSubject<PolicySubject>
}

export interface InvitationLimits {
  /** The most generous of the principal's inviting roles' (undefined when one of them has none):
   *  what a portal shows. One invitation is limited by the roles that allow it (decide()). */
  requester?: number
  /** Every hourly limit of the principal's inviting roles, once each, ascending. Not empty: some
   *  invitation of the principal is limited, and every invitation of it counts towards that limit
   *  (the count is the requester's, whichever role allowed them), so each one is counted,
   *  decided and reserved under the requester's lock. */
  requesterLimits: number[]
  /** The tenant's, for everyone together. */
  tenant?: number
}

type TargetOf<T extends PolicySubject> = Extract<PolicyTarget, { type: T }>

/** Which subjects each action applies to. */
const ACTION_SUBJECTS: Record<PolicyAction, readonly PolicySubject[]> = {
  invite: ['Invitation'],
  resend: ['Guest'],
  resetRedemption: ['Guest'],
  read: ['Guest', 'Group', 'App', 'AuditLog', 'GroupMembership', 'Report'],
  delete: ['Guest'],
  revokeAccess: ['Guest'],
  manageSponsors: ['Guest'],
  blockSignIn: ['Guest'],
  revokeSessions: ['Guest'],
  addMember: ['GroupMembership'],
  removeMember: ['GroupMembership'],
  assign: ['AppRoleAssignment'],
  unassign: ['AppRoleAssignment'],
  export: ['AuditLog'],
  check: ['Self'],
  grantBundle: ['AccessBundle'],
  revokeBundle: ['AccessBundle'],
  cleanup: ['Report'],
  manage: ['Webhook'],
}

const ACTION_PHRASES: Record<string, string> = {
  'invite Invitation': 'invite guests',
  'resend Guest': 'resend invitations',
  'resetRedemption Guest': 'reset guests\' redemption',
  'read Guest': 'read guests',
  'read Group': 'list groups',
  'read App': 'list applications',
  'read AuditLog': 'read the audit log',
  'read GroupMembership': 'list the guests of groups',
  'delete Guest': 'remove guests',
  'revokeAccess Guest': "revoke guests' access",
  'manageSponsors Guest': "change guests' sponsors",
  'blockSignIn Guest': 'block guests from signing in',
  'revokeSessions Guest': "revoke guests' sign-in sessions",
  'addMember GroupMembership': 'add guests to groups',
  'removeMember GroupMembership': 'remove guests from groups',
  'assign AppRoleAssignment': 'grant app roles',
  'unassign AppRoleAssignment': 'revoke app roles',
  'export AuditLog': 'export the audit log',
  'check Self': 'check their own permissions',
  'grantBundle AccessBundle': 'grant access bundles',
  'revokeBundle AccessBundle': 'revoke access bundles',
  'read Report': 'read hygiene reports',
  'cleanup Report': 'clean up from hygiene reports',
  'manage Webhook': 'manage webhook subscriptions',
}

const SELF_CHECK_REASON = 'Anyone signed in to this tenant may check their own permissions.'

export function createPolicyEngine(policy: PolicyDocument, env: PolicyEnv): AppPolicyEngine {
  const abilities = createAbilityCache(policy, env)
  const names = displayNames(policy)
  const protectedApps = protectedApplicationIds(env)
  const appEntries = appRoleEntries(policy)
  const subjectOf = (target: PolicyTarget) => subjectWith(target, (appId) => appEntries.get(appId) ?? [])

  const decision = (allowed: boolean, rule: string, reason: string): PolicyDecision => ({
    allowed,
    rule,
    reason,
    policyVersion: policy.version,
  })
  const deny = (rule: string, reason: string) => decision(false, rule, reason)
  /** A limit's refusal says when it lets the request through (an hour at most). */
  const limited = (rule: string, reason: string, retryAt: Date | null | undefined): PolicyDecision => ({
    ...deny(rule, reason),
    retryAfterSeconds: retryAt ? Math.max(1, Math.ceil((retryAt.getTime() - Date.now()) / 1000)) : 3600,
  })
  const allow = (rule: PolicyRule, reason: string) =>
    decision(true, rule.role ? `${rule.ruleId}:${rule.role}` : rule.ruleId, reason)

  const rolePolicies = (principal: Principal) =>
    policyRolesOf(principal, policy).map((role) => [role, policy.roles[role]!] as const)

  /** Rules of the ability that grant this action on this subject (empty when a refusal wins). */
  function grantsFor(ability: AppAbility, action: PolicyAction, target: PolicyTarget): PolicyRule[] {
    const subj = subjectOf(target)
    if (!ability.can(action, subj)) return []
    return ability
      .rulesFor(action, target.type)
      .filter((rule) => !rule.inverted && rule.matchesConditions(subj))
      .map((rule) => rule.origin as PolicyRule)
  }

  /** A token of another tenant, or an action that does not apply to the subject. */
  function requestRefusal(principal: Principal, action: PolicyAction, type: PolicySubject): PolicyDecision | null {
    if (!sameTenant(principal.tenantId, env.tenantId)) {
      return deny('tenant.mismatch', `This token was issued by tenant ${quote(principal.tenantId)}; guestgate serves tenant ${env.tenantId}.`)
    }
    if (!ACTION_SUBJECTS[action]?.includes(type)) {
      return deny('action.not-applicable', `The action ${quote(String(action))} does not apply to ${type}.`)
    }
    return null
  }

  function hardRefusal(action: PolicyAction, target: PolicyTarget): PolicyDecision | null {
    switch (target.type) {
      case 'GroupMembership':
        // Looking is not changing: a role-assignable group's guests may be listed.
        if (action === 'read') return null
        if (target.isAssignableToRole) {
          return deny(
            'groups.role-assignable',
            `${names.group(target)} is a role-assignable group: its members hold directory roles, so guestgate never changes them.`,
          )
        }
        if (target.isDynamic) {
          return deny(
            'groups.dynamic',
            `${names.group(target)} is a dynamic group: its members follow its membership rule and cannot be added or removed by hand.`,
          )
        }
        if (target.isMailManaged) {
          return deny(
            'groups.mail-enabled',
            `${names.group(target)} is a mail-enabled security group or a distribution list: Exchange keeps its members, and Microsoft Graph cannot add or remove them.`,
          )
        }
        return null
      case 'AppRoleAssignment': {
        const applicationId = target.applicationId?.toLowerCase()
        if (applicationId === undefined || !protectedApps.includes(applicationId)) return null
        const which =
          applicationId === MICROSOFT_GRAPH_APP_ID ? "Microsoft Graph's roles reach the whole directory" : "these are guestgate's own roles"
        return deny(
          'apps.protected-application',
          `App roles on ${names.app(target.appId, target)} are never assigned or removed through guestgate: ${which}.`,
        )
      }
      case 'Invitation': {
        const problem = target.redirectUrl === undefined ? null : redirectUrlProblem(target.redirectUrl)
        if (problem) {
          return deny('invitations.redirect-url-not-allowed', `Redirect URL ${quote(target.redirectUrl!)} is not allowed: ${problem}.`)
        }
        return null
      }
      default:
        return null
    }
  }

  function missingRole(principal: Principal, action: PolicyAction, type: PolicySubject): PolicyDecision {
    const phrase = ACTION_PHRASES[`${action} ${type}`]!
    const able = API_ROLES.filter((role) => abilities.get({ ...principal, roles: [role] }).can(action, type))
    const hint = able.length > 0 ? ` This needs ${list(able, 'or')}.` : ' No role may, under this policy.'
    const known = [...new Set(principal.roles)]
    const lead =
      known.length === 0
        ? `Your token has no guestgate role, so you may not ${phrase}.`
        : `None of your roles (${known.map((r) => quoteIfOdd(r)).join(', ')}) may ${phrase}.`
    return deny('role.missing', lead + hint)
  }

  function decideInvitation(principal: Principal, ability: AppAbility, target: TargetOf<'Invitation'>, context: PolicyContext) {
    const domain = emailDomain(target.email)
    if (domain === null) return deny('invitations.email-invalid', `${quote(target.email)} is not an email address.`)

    // Redirect URL, domain and hourly limit are the inviting role's own: a grant must come from a
    // role that accepts all three, not from a mix of two roles. So the limit that applies is the
    // one of the roles that allow this invitation: a role that may not invite this domain (or
    // redirect there) neither lifts nor adds a limit.
    const inviting = rolePolicies(principal).flatMap(([role, p]) => (p.invitations ? [[role, p.invitations] as const] : []))
    const url = target.redirectUrl
    const redirectOk =
      url === undefined ? inviting : inviting.filter(([, inv]) => inv.redirectUrlPrefixes.some((p) => isUnderPrefix(url, p)))
    if (redirectOk.length === 0) {
      const accepted = clauses(inviting, (role, inv) => `${role} may redirect to URLs under ${list(inv.redirectUrlPrefixes)}`)
      return deny('invitations.redirect-url-not-allowed', `Redirect URL ${quote(url!)} is not allowed: ${accepted}.`)
    }

    const tenantLimit = policy.limits?.invitationsPerHour
    const tenantSent = context.tenantInvitationsInLastHour ?? 0
    if (tenantLimit !== undefined && tenantSent >= tenantLimit) {
      return limited('invitations.tenant-rate-limit',
        `The tenant has sent ${tenantSent} invitations in the last hour; the policy allows ${tenantLimit} per hour for everyone together. Try again later.`,
        context.retryAt?.tenant)
    }

    const grants = grantsFor(ability, 'invite', target)
    const allowing = redirectOk.filter(([role]) => grants.some((rule) => rule.role === role))
    if (allowing.length === 0) return domainRefusal(domain, redirectOk)

    const sent = context.invitationsInLastHour ?? 0
    const underLimit = allowing.filter(([, inv]) => inv.maxPerHour === undefined || sent < inv.maxPerHour)
    if (underLimit.length === 0) {
      // Every role that allows it has a limit (else it would be under it): the most generous one
      // lets the next invitation through first.
      const limit = Math.max(...allowing.map(([, inv]) => inv.maxPerHour!))
      const limits = clauses(allowing, (role, inv) => `${role} may send ${inv.maxPerHour} per hour`)
      return limited('invitations.rate-limit', `You have sent ${sent} invitations in the last hour; ${limits}. Try again later.`,
        context.retryAt?.requesterAt?.[limit] ?? context.retryAt?.requester)
    }

    const candidates = new Set<ApiRole>(underLimit.map(([role]) => role))
    const grant = grants.find((rule) => rule.role !== undefined && candidates.has(rule.role))!
    return allow(grant, `${grant.role} may invite guests from ${domain}.`)
  }

  /** No role that accepts the redirect URL may invite this domain: what each of them may invite. */
  function domainRefusal(domain: string, roles: readonly (readonly [ApiRole, InvitationsPolicy])[]): PolicyDecision {
    const inviteClauses = clauses(roles, (role, inv) =>
      inv.allowDomains
        ? `${role} may invite ${list(inv.allowDomains)}`
        : `${role} may invite any domain except ${list(inv.denyDomains ?? [], 'or')}`,
    )
    const subdomainNote = roles.some(([, inv]) => inv.allowDomains?.some((d) => domain.endsWith(`.${d}`)))
      ? ' Subdomains of a listed domain are not included.'
      : ''
    if (roles.some(([, inv]) => inv.denyDomains?.includes(domain))) {
      return deny('invitations.domain-denied', `Invitations from ${domain} are denied: ${inviteClauses}.`)
    }
    return deny('invitations.domain-not-allowed', `Invitations from ${domain} are not allowed: ${inviteClauses}.${subdomainNote}`)
  }

  function groupNotManaged(principal: Principal, action: PolicyAction, target: TargetOf<'GroupMembership'>) {
    const verb = membershipVerb(action)
    const managing = rolePolicies(principal).flatMap(([role, p]) => {
      const groups = (p.groups ?? []).filter((g) => action === 'read' || g[action === 'addMember' ? 'add' : 'remove'])
      return groups.length > 0 ? [[role, groups] as const] : []
    })
    const managed = clauses(managing, (role, groups) => `${role} may ${verb} ${list(groups.map((g) => names.group({ groupId: g.id })))}`)
    return deny('groups.not-managed', `${managed}, not ${names.group(target)}.`)
  }

  function appRoleNotGranted(principal: Principal, action: PolicyAction, target: TargetOf<'AppRoleAssignment'>) {
    const key = action === 'assign' ? 'grant' : 'revoke'
    const appId = target.appId.toLowerCase()
    const granting = rolePolicies(principal).flatMap(([role, p]) => {
      const apps = (p.apps ?? []).filter((a) => (a[key] ?? []).length > 0)
      return apps.length > 0 ? [[role, apps] as const] : []
    })
    const onThisApp = granting.flatMap(([role, apps]) => apps.filter((a) => a.id === appId).map((a) => [role, a[key]!] as const))
    const appLabel = names.app(appId, target)
    const asked = askedAppRole(target)
    if (onThisApp.length > 0 && asked) {
      const granted = clauses(onThisApp, (role, entries) => `${role} may ${key} ${list(entries.map((e) => names.entry(appId, e, target)))} on ${appLabel}`)
      return deny('apps.role-not-granted', `${granted}, not ${names.askedRole(appId, asked)}.`)
    }
    const granted = clauses(granting, (role, apps) => `${role} may ${key} roles on ${list(apps.map((a) => names.app(a.id)))}`)
    return deny('apps.role-not-granted', `${granted}, not on ${appLabel}.`)
  }

  function grantReason(rule: PolicyRule, action: PolicyAction, target: PolicyTarget): string {
    switch (target.type) {
      case 'Self':
        return SELF_CHECK_REASON
      case 'GroupMembership':
        return `${rule.role} may ${membershipVerb(action)} ${names.group(target)}.`
      case 'AppRoleAssignment': {
        const appId = target.appId.toLowerCase()
        const asked = askedAppRole(target)
        const role = asked ? names.askedRole(appId, asked) : 'roles'
        return `${rule.role} may ${action === 'assign' ? 'grant' : 'revoke'} ${role} on ${names.app(appId, target)}.`
      }
      case 'AccessBundle':
        return `${rule.role} may ${action === 'grantBundle' ? 'grant' : 'revoke'} bundle ${target.bundle}.`
      default:
        return `${rule.role} may ${ACTION_PHRASES[`${action} ${target.type}`]}.`
    }
  }

  // A decision about a bare subject type (no target fields, no context) depends only on the
  // principal's roles and tenant and on this policy: decided once per such question. The roles
  // as the token has them, not only those the policy knows: a denial names them all.
  const bareDecisions = new Map<string, PolicyDecision>()
  const questionKeys = new WeakMap<Principal, string>()
  // In front of it, the answers per principal object (the verified-token cache hands out the same
  // one for every request with a token): a short question to look up, not the roles' key with it.
  const principalDecisions = new WeakMap<Principal, Map<string, PolicyDecision>>()
  function rememberedDecision(principal: Principal, question: string, decideNow: () => PolicyDecision): PolicyDecision {
    let mine = principalDecisions.get(principal)
    if (mine === undefined) principalDecisions.set(principal, mine = new Map<string, PolicyDecision>())
    let decision = mine.get(question)
    if (decision === undefined) {
      decision = sharedDecision(principal, question, decideNow)
      mine.set(question, decision)
    }
    return decision
  }
  function sharedDecision(principal: Principal, question: string, decideNow: () => PolicyDecision): PolicyDecision {
    let base = questionKeys.get(principal)
    if (base === undefined) {
      base = JSON.stringify([principal.tenantId, principal.roles])
      questionKeys.set(principal, base)
    }
    const key = `${base}${question}`
    let decision = bareDecisions.get(key)
    if (!decision) {
      decision = Object.freeze(decideNow())
      if (bareDecisions.size >= 1024) bareDecisions.delete(bareDecisions.keys().next().value!)
      bareDecisions.set(key, decision)
    }
    return decision
  }

  function decide(principal: Principal, action: PolicyAction, target: PolicyTarget, context: PolicyContext = {}): PolicyDecision {
    if (Object.keys(target).length === 1 && Object.keys(context).length === 0) {
      return rememberedDecision(principal, ` ${action} ${target.type}`, () => decideNow(principal, action, target, context))
    }
    return decideNow(principal, action, target, context)
  }

  function decideNow(principal: Principal, action: PolicyAction, target: PolicyTarget, context: PolicyContext): PolicyDecision {
    const refusal = requestRefusal(principal, action, target.type) ?? hardRefusal(action, target)
    if (refusal) return refusal
    // A part of revoke-access: the hard refusals above hold for it as for the single route; what
    // grants it is the right to revoke the guest's access.
    if ((target.type === 'GroupMembership' || target.type === 'AppRoleAssignment') && target.via === 'revokeAccess') {
      return decide(principal, 'revokeAccess', { type: 'Guest' })
    }
    // A part of an expiry: only the scheduler's own principal takes access away for an expiry.
    if ((target.type === 'GroupMembership' || target.type === 'AppRoleAssignment') && target.via === 'expiry') {
      return principal.oid === EXPIRY_PRINCIPAL_OID
        ? decision(true, 'expiry', 'The expiry set on this access has passed: the expiry scheduler takes it away.')
        : deny('expiry.scheduler-only', 'Only the expiry scheduler takes access away for an expiry.')
    }

    const ability = abilities.get(principal)
    if (!ability.can(action, target.type)) return missingRole(principal, action, target.type)
    if (target.type === 'Invitation') return decideInvitation(principal, ability, target, context)

    const grant = grantsFor(ability, action, target)[0]
    if (grant) return allow(grant, grantReason(grant, action, target))
    // Only memberships and assignments carry conditions, so only they get here.
    if (target.type === 'GroupMembership') return groupNotManaged(principal, action, target)
    if (target.type === 'AppRoleAssignment') return appRoleNotGranted(principal, action, target)
    if (target.type === 'AccessBundle') return bundleNotGrantable(principal, action, target)
    return missingRole(principal, action, target.type)
  }

  function bundleNotGrantable(principal: Principal, action: PolicyAction, target: TargetOf<'AccessBundle'>) {
    const verb = action === 'grantBundle' ? 'grant' : 'revoke'
    const bundle = policy.bundles?.find((b) => b.name === target.bundle)
    if (!bundle) return deny('bundles.unknown', `The policy has no bundle ${quote(target.bundle)}.`)
    const mine = rolePolicies(principal).map(([role]) => role)
    return deny('bundles.not-grantable',
      `Bundle ${bundle.name} may be ${verb}ed by ${list(bundle.grantableBy, 'or')}; ${mine.length > 0 ? `your roles are ${list(mine)}` : 'you have none of them'}.`)
  }

  /** The longest expiry a principal may set: a bundle's own cap, or the most generous of the
   *  caller's roles that grant that kind of access (a role without a cap: none). */
  function expiryCap(principal: Principal, question: ExpiryCapQuestion): ExpiryCap {
    if (question.kind === 'bundle') {
      const bundle = policy.bundles?.find((b) => b.name === question.bundle)
      return { maxDays: bundle?.maxDays ?? null, source: `bundle ${question.bundle}` }
    }
    const granting = rolePolicies(principal).filter(([, p]) =>
      question.kind === 'guest' ? p.invitations !== undefined
        : question.kind === 'group' ? (p.groups ?? []).some((g) => g.add)
          : (p.apps ?? []).some((a) => (a.grant ?? []).length > 0))
    if (granting.length === 0 || granting.some(([, p]) => p.expiry === undefined)) {
      return { maxDays: null, source: granting.find(([, p]) => p.expiry === undefined)?.[0] ?? 'no role' }
    }
    const best = granting.reduce((a, b) => (b[1].expiry!.maxDays > a[1].expiry!.maxDays ? b : a))
    return { maxDays: best[1].expiry!.maxDays, source: best[0] }
  }

  function decideAny(principal: Principal, action: PolicyAction, type: PolicySubject): PolicyDecision {
    return rememberedDecision(principal, ` any ${action} ${type}`, () => decideAnyNow(principal, action, type))
  }

  function decideAnyNow(principal: Principal, action: PolicyAction, type: PolicySubject): PolicyDecision {
    const refusal = requestRefusal(principal, action, type)
    if (refusal) return refusal
    const ability = abilities.get(principal)
    if (!ability.can(action, type)) return missingRole(principal, action, type)
    const grant = ability.rulesFor(action, type).find((rule) => !rule.inverted)!.origin as PolicyRule
    return allow(grant, grant.role ? `${grant.role} may ${ACTION_PHRASES[`${action} ${type}`]}.` : SELF_CHECK_REASON)
  }

  // What a principal may do depends only on what its ability depends on (roles the policy
  // knows, tenant; this engine is one policy version): computed once per such key.
  const permissions = new Map<string, PermissionSummary>()
  function permissionsOf(principal: Principal): PermissionSummary {
    const key = abilities.keyOf(principal)
    let summary = permissions.get(key)
    if (!summary) {
      // Shared by every caller with the same roles: frozen, so that no one can change it for the others.
      summary = deepFreeze(computePermissions(principal))
      if (permissions.size >= 256) permissions.delete(permissions.keys().next().value!)
      permissions.set(key, summary)
    }
    return summary
  }

  function computePermissions(principal: Principal): PermissionSummary {
    const ability = abilities.get(principal)
    const roles = sameTenant(principal.tenantId, env.tenantId) ? rolePolicies(principal) : []
    const actions = Object.entries(ACTION_SUBJECTS).flatMap(([action, subjects]) =>
      subjects.filter((s) => ability.can(action as PolicyAction, s)).map((s) => ({ action: action as PolicyAction, subject: s })),
    )

    const groups = new Map<string, { groupId: string; add: boolean; remove: boolean }>()
    const appRoles = new Map<string, { appId: string; grant: Set<string>; revoke: Set<string> }>()
    for (const [, p] of roles) {
      for (const g of p.groups ?? []) {
        const entry = groups.get(g.id) ?? { groupId: g.id, add: false, remove: false }
        groups.set(g.id, { groupId: g.id, add: entry.add || g.add === true, remove: entry.remove || g.remove === true })
      }
      for (const a of p.apps ?? []) {
        const entry = appRoles.get(a.id) ?? { appId: a.id, grant: new Set<string>(), revoke: new Set<string>() }
        a.grant?.forEach((v) => entry.grant.add(v))
        a.revoke?.forEach((v) => entry.revoke.add(v))
        appRoles.set(a.id, entry)
      }
    }

    // A bundle is offered when the caller may grant it and every part (asked as its single
    // route asks before looking at Graph) is allowed.
    const bundles = (policy.bundles ?? []).filter((b) =>
      decide(principal, 'grantBundle', { type: 'AccessBundle', bundle: b.name }).allowed
      && (b.groups ?? []).every((groupId) => decide(principal, 'addMember', { type: 'GroupMembership', groupId }).allowed)
      && (b.appRoles ?? []).every((r) => decide(principal, 'assign', { type: 'AppRoleAssignment', appId: r.appId, appRoleValue: r.appRole }).allowed))

    return {
      policyVersion: policy.version,
      roles: roles.map(([role]) => role),
      actions,
      invitations: mergeInvitations(roles.flatMap(([, p]) => (p.invitations ? [p.invitations] : []))),
      groups: [...groups.values()],
      appRoles: [...appRoles.values()].map((a) => ({ appId: a.appId, grant: [...a.grant], revoke: [...a.revoke] })),
      bundles: bundles.map((b) => ({ name: b.name, description: b.description ?? null, maxDays: b.maxDays, groups: b.groups ?? [], appRoles: b.appRoles ?? [] })),
      expiryMaxDays: {
        guest: expiryCap(principal, { kind: 'guest' }).maxDays,
        group: expiryCap(principal, { kind: 'group' }).maxDays,
        appRole: expiryCap(principal, { kind: 'appRole' }).maxDays,
      },
    }
  }

  function invitationLimitsOf(principal: Principal): InvitationLimits {
    const limits = rolePolicies(principal).flatMap(([, p]) => (p.invitations ? [p.invitations.maxPerHour] : []))
    const requester = limits.length === 0 || limits.includes(undefined) ? undefined : Math.max(...(limits as number[]))
    const requesterLimits = [...new Set(limits.filter((l) => l !== undefined))].sort((a, b) => a - b)
    return { requester, requesterLimits, tenant: policy.limits?.invitationsPerHour }
  }

  return {
    version: policy.version,
    policy,
    invitationLimitsOf,
    subjectOf,
    ability: (principal) => abilities.get(principal),
    decide,
    decideAny,
    permissionsOf,
    expiryCap,
  }
}

const membershipVerb = (action: PolicyAction) =>
  action === 'addMember' ? 'add guests to' : action === 'removeMember' ? 'remove guests from' : 'list the guests of'

/** What several inviting roles allow together: a grant from any role allows. */
function mergeInvitations(all: InvitationsPolicy[]): PermissionSummary['invitations'] {
  if (all.length === 0) return null
  const allowed = unique(all.flatMap((inv) => inv.allowDomains ?? []))
  const denyLists = all.flatMap((inv) => (inv.denyDomains ? [inv.denyDomains] : []))
  const limits = all.map((inv) => inv.maxPerHour)
  return {
    // With one deny-list role any domain but the denied ones is possible: no allow list applies.
    allowedDomains: denyLists.length === 0 ? allowed : null,
    // A domain is denied only when every deny-list role denies it and no allow list has it.
    deniedDomains: (denyLists[0] ?? []).filter((d) => denyLists.every((l) => l.includes(d)) && !allowed.includes(d)),
    redirectUrlPrefixes: unique(all.flatMap((inv) => inv.redirectUrlPrefixes)),
    maxPerHour: limits.some((l) => l === undefined) ? null : Math.max(...(limits as number[])),
  }
}

/** Every app role entry of the file (grant and revoke lists of every role), per application. */
function appRoleEntries(policy: PolicyDocument): Map<string, string[]> {
  const entries = new Map<string, Set<string>>()
  for (const role of Object.values(policy.roles)) {
    for (const a of role?.apps ?? []) {
      const set = entries.get(a.id) ?? new Set<string>()
      for (const entry of [...(a.grant ?? []), ...(a.revoke ?? [])]) set.add(entry)
      entries.set(a.id, set)
    }
  }
  return new Map([...entries].map(([appId, set]) => [appId, [...set]]))
}

/** Display names for messages: Graph's (carried by the target) when known, else the policy file's, else the ids. */
function displayNames(policy: PolicyDocument) {
  const groupNames = new Map<string, string>()
  const appNames = new Map<string, string>()
  const roleNames = new Map<string, string>()
  for (const role of Object.values(policy.roles)) {
    for (const g of role?.groups ?? []) if (g.name) groupNames.set(g.id, g.name)
    for (const a of role?.apps ?? []) {
      if (a.name) appNames.set(a.id, a.name)
      for (const [value, name] of Object.entries(a.roleNames ?? {})) roleNames.set(`${a.id} ${value}`, name)
    }
  }
  /** A role known by its value only: named by the file's roleNames when it has one. */
  const byValue = (appId: string, value: string) => {
    const name = roleNames.get(`${appId} ${value}`)
    return name === undefined ? value : appRoleLabel({ value, displayName: name })
  }
  return {
    group: (t: { groupId: string; groupName?: string }) => t.groupName ?? groupNames.get(t.groupId.toLowerCase()) ?? t.groupId,
    app: (appId: string, t?: { appDisplayName?: string }) => t?.appDisplayName ?? appNames.get(appId.toLowerCase()) ?? appId,
    /** The role asked about: "DocuSign Sender (DocuSign.Sender)". */
    askedRole: (appId: string, role: AppRoleRef) =>
      role.displayName !== '' ? appRoleLabel(role) : role.value !== null ? byValue(appId, role.value) : role.id,
    /** A role as the file names it, resolved against the application's roles when the target has them. */
    entry: (appId: string, entry: string, t: { appRoles?: readonly AppRoleRef[] }) => {
      if (!t.appRoles) return byValue(appId, entry)
      const role = findAppRole(t.appRoles, entry)
      return role ? appRoleLabel(role) : `${quote(entry)} (no such role)`
    },
  }
}

function clauses<R, V>(entries: readonly (readonly [R, V])[], clause: (role: R, value: V) => string): string {
  return entries.map(([role, value]) => clause(role, value)).join('; ')
}

/** "a", "a and b", "a, b and c". */
function list(items: readonly string[], conjunction = 'and'): string {
  if (items.length <= 1) return items[0] ?? 'nothing'
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1)}`
}

function unique(items: string[]): string[] {
  return [...new Set(items)]
}

/** Requester-supplied text in a sentence: quoted, escaped, and cut short. */
function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)
}

function quoteIfOdd(role: string): string {
  return /^[\w.]{1,64}$/.test(role) ? role : quote(role)
}
