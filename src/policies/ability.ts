// CASL ability of a principal, the subjects it is asked about, and a cache: building an
// ability per request cost about 30% of throughput, and it only depends on the principal's
// roles and tenant (never on who they are), so abilities are shared.
import { createMongoAbility, subject, type ForcedSubject, type MongoAbility } from '@casl/ability'
import type { Principal } from '../auth/principal.js'
import { findAppRole, type AppRoleRef } from './app-roles.js'
import { defineRulesFor, policyRolesOf, type PolicyEnv, type PolicyRule } from './define-rules.js'
import type { PolicyDocument } from './policy-file.js'
import type { PolicyAction, PolicySubject, PolicyTarget } from './types.js'

export type AppSubject = PolicySubject | ForcedSubject<PolicySubject>
export type AppAbility = MongoAbility<[PolicyAction, AppSubject]>

export function createAppAbility(rules: PolicyRule[]): AppAbility {
  return createMongoAbility<AppAbility>(rules)
}

export function defineAbilityFor(principal: Principal, policy: PolicyDocument, env: PolicyEnv): AppAbility {
  return createAppAbility(defineRulesFor(principal, policy, env))
}

/** The lower-cased domain of an email address, or null when it is not one. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@')
  if (at <= 0 || at === email.length - 1 || /\s/.test(email)) return null
  return email.slice(at + 1).toLowerCase()
}

/** The policy file's app role entries of one application (grant and revoke lists of every role). */
export type AppRoleEntries = (appId: string) => readonly string[]

/**
 * The entries of the policy file that name the role a target asks about, resolved by the one
 * resolver (app-roles.ts) against the application's roles from Graph when the target has them.
 * A target that names no role yet asks about some role of the application: every entry counts.
 */
export function policyEntriesFor(target: Extract<PolicyTarget, { type: 'AppRoleAssignment' }>, entriesOf: AppRoleEntries): string[] {
  const entries = entriesOf(target.appId.toLowerCase())
  const role = askedAppRole(target)
  if (!role) return [...entries]
  const roles = target.appRoles ?? [role]
  return entries.filter((entry) => findAppRole(roles, entry) === role)
}

/** The role a target asks about: the application's own (from Graph) when the target has them. */
export function askedAppRole(target: Extract<PolicyTarget, { type: 'AppRoleAssignment' }>): AppRoleRef | undefined {
  const { appRoleId, appRoleValue } = target
  if (appRoleId === undefined && appRoleValue === undefined) return undefined
  const id = appRoleId?.toLowerCase()
  const known = target.appRoles?.find((r) => (id !== undefined ? r.id.toLowerCase() === id : r.value === appRoleValue))
  return known ?? { id: id ?? '', value: appRoleValue ?? null, displayName: target.appRoleDisplayName ?? '' }
}

/**
 * The CASL subject for a target, with the fields rule conditions look at: `domain` of an
 * invitation's email, lower-cased ids, explicit false for absent group flags, and the policy
 * entries that name an asked app role (`entriesOf` gives the file's entries; none without it).
 */
export function subjectOf(target: PolicyTarget, entriesOf: AppRoleEntries = () => []): ForcedSubject<PolicySubject> {
  switch (target.type) {
    case 'Invitation':
      return subject(target.type, { ...target, domain: emailDomain(target.email) ?? '' })
    case 'GroupMembership':
      return subject(target.type, {
        ...target,
        groupId: target.groupId.toLowerCase(),
        isAssignableToRole: target.isAssignableToRole === true,
        isDynamic: target.isDynamic === true,
        isMailManaged: target.isMailManaged === true,
      })
    case 'AppRoleAssignment':
      return subject(target.type, {
        ...target,
        appId: target.appId.toLowerCase(),
        applicationId: target.applicationId?.toLowerCase(),
        policyEntries: policyEntriesFor(target, entriesOf),
      })
    default:
      return subject(target.type, { ...target })
  }
}

/** Roles the policy ignores give nothing, so they are left out of the key (and cannot grow the cache). */
export function abilityCacheKey(principal: Principal, policy: PolicyDocument): string {
  return JSON.stringify([policyRolesOf(principal, policy), principal.tenantId.toLowerCase(), policy.version])
}

export interface AbilityCache {
  get(principal: Principal): AppAbility
  /** The key the principal's ability is cached under (what the ability depends on). */
  keyOf(principal: Principal): string
  readonly size: number
}

/** One cache per policy document, so a reloaded file never meets abilities of the old one. */
export function createAbilityCache(policy: PolicyDocument, env: PolicyEnv, maxEntries = 256): AbilityCache {
  const abilities = new Map<string, AppAbility>()
  // The verified-token cache hands out the same principal object for every request with that
  // token: remembering its key spares building it (a JSON string) several times per request.
  const keys = new WeakMap<Principal, string>()
  const keyOf = (principal: Principal) => {
    let key = keys.get(principal)
    if (key === undefined) {
      key = abilityCacheKey(principal, policy)
      keys.set(principal, key)
    }
    return key
  }
  return {
    get(principal) {
      const key = keyOf(principal)
      let ability = abilities.get(key)
      if (!ability) {
        ability = defineAbilityFor(principal, policy, env)
        // Tenant ids come from tokens: bound the cache by dropping the oldest entry.
        if (abilities.size >= maxEntries) abilities.delete(abilities.keys().next().value!)
        abilities.set(key, ability)
      }
      return ability
    },
    keyOf,
    get size() {
      return abilities.size
    },
  }
}
