// Redirect URLs are compared as parsed URLs (origin + path prefix), never as strings:
// a string prefix test would accept https://myapps.microsoft.com.evil.example/.

/** Why a prefix from the policy file is unusable, or null when it is fine. */
export function urlPrefixProblem(prefix: string): string | null {
  if (!prefix.startsWith('https://')) return 'must start with https://'
  let url: URL
  try {
    url = new URL(prefix)
  } catch {
    return 'is not a valid URL'
  }
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password'
  if (url.search !== '' || url.hash !== '' || prefix.includes('?') || prefix.includes('#')) {
    return 'must not contain a query (?) or fragment (#)'
  }
  return null
}

/** Why a requested redirect URL can never be accepted (whatever the policy), or null. */
export function redirectUrlProblem(redirectUrl: string): string | null {
  let url: URL
  try {
    url = new URL(redirectUrl)
  } catch {
    return 'it is not a valid URL'
  }
  if (url.protocol !== 'https:') return 'it must use https'
  if (url.username !== '' || url.password !== '') return 'it must not contain a user name or password'
  return null
}

/** True when redirectUrl is an https URL on the prefix's origin, under the prefix's path. */
export function isUnderPrefix(redirectUrl: string, prefix: string): boolean {
  if (redirectUrlProblem(redirectUrl) !== null || urlPrefixProblem(prefix) !== null) return false
  const url = new URL(redirectUrl)
  const base = new URL(prefix)
  if (url.origin !== base.origin) return false
  // A prefix path without a trailing slash covers itself and what lies below it, not siblings
  // (/app must not cover /application).
  if (base.pathname.endsWith('/')) return url.pathname.startsWith(base.pathname)
  return url.pathname === base.pathname || url.pathname.startsWith(`${base.pathname}/`)
}
