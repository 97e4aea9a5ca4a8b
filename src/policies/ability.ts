// CASL ability of a principal, the subjects it is asked about, and a cache: building an
// ability per request cost about 30% of throughput, and it only depends on the principal's
// roles and tenant (never on who they are), so abilities are shared.
import { createMongoAbility, subject, type ForcedSubject, type MongoAbility } from '@casl/ability'
import type { Principal } from '../auth/principal.js'
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

/**
 * The CASL subject for a target, with the fields rule conditions look at: `domain` of an
 * invitation's email, lower-cased ids, and explicit false for absent group flags.
 */
export function subjectOf(target: PolicyTarget): ForcedSubject<PolicySubject> {
  switch (target.type) {
    case 'Invitation':
      return subject(target.type, { ...target, domain: emailDomain(target.email) ?? '' })
    case 'GroupMembership':
      return subject(target.type, {
        ...target,
        groupId: target.groupId.toLowerCase(),
        isAssignableToRole: target.isAssignableToRole === true,
        isDynamic: target.isDynamic === true,
      })
    case 'AppRoleAssignment':
      return subject(target.type, {
        ...target,
        appId: target.appId.toLowerCase(),
        applicationId: target.applicationId?.toLowerCase(),
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
