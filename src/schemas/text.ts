// Rules every string of a request obeys, whatever schema it sits in: the validator compiler
// (src/validation.ts) adds them to each string node, so no schema can forget them.
//
// - No control characters and no unpaired UTF-16 surrogates. Postgres text cannot hold NUL,
//   jsonb refuses lone surrogates, and neither has a meaning in a name, an id or a role: such a
//   string could not be written faithfully to the audit log. Multi-line fields (an invitation's
//   message) may keep tab, line feed and carriage return.
// - Object ids (format uuid) are canonical: lower case from the edge on, so an id is one
//   string in Graph calls, audit rows and audit searches however the caller spelt it.
import { Type, type StringOptions } from '@sinclair/typebox'

/** Schema keyword naming which text rule a string follows ('line' unless it says otherwise). */
export const TEXT_KEYWORD = 'x-text'
export type TextRule = 'line' | 'multiline'

/** Schema keyword that rewrites the value in place to its canonical form. */
export const CANONICAL_KEYWORD = 'x-canonical'

const NOT_LINE_TEXT = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u
const NOT_MULTILINE_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\p{Cs}/u

export const TEXT_RULE_MESSAGES: Record<TextRule, string> = {
  line: 'must not contain control characters or unpaired surrogates',
  multiline: 'must not contain control characters other than tab and line breaks, nor unpaired surrogates',
}

/** Whether `value` obeys the rule: no NUL, no other control character (tab and line breaks
 *  allowed in multi-line text), no lone surrogate. */
export function isCleanText(value: string, rule: TextRule = 'line'): boolean {
  return !(rule === 'multiline' ? NOT_MULTILINE_TEXT : NOT_LINE_TEXT).test(value)
}

/** Free text that may span lines (messages). Every other string is single-line by default. */
export const MultilineText = (options: StringOptions = {}) => Type.String({ ...options, [TEXT_KEYWORD]: 'multiline' })

/** An Entra object id (tenant, user, group, service principal, role): a bare GUID, any case. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
