// Graph sends Retry-After in seconds, sometimes with a fraction ("0.5"); RFC 9110 also allows an
// HTTP-date. Both become milliseconds to wait from `now`.

/** Milliseconds to wait, or undefined when the header is absent or unreadable. */
export function parseRetryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header == null) return undefined
  const text = header.trim()
  if (text === '') return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number.parseFloat(text) * 1000)
  // An HTTP-date always names a month; without this, Date.parse reads "-1" as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}
