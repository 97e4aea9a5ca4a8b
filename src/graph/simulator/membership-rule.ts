// Dynamic membership rules, evaluated the way Entra evaluates them, for the rule syntax a
// seeded or test group uses: https://learn.microsoft.com/en-us/entra/identity/users/groups-dynamic-membership
//   (user.userType -eq "Guest") -and (user.accountEnabled -eq true)
// Supported: user.<property> with -eq -ne -startsWith -notStartsWith -contains -notContains
// -in -notIn, values "string" (case-insensitive, as Entra compares them), true, false, null;
// -and, -or, -not and parentheses. A rule outside that subset is refused when the group is
// created, never evaluated to "no members" in silence.
// Entra processes rule changes asynchronously (minutes; the docs give no bound: SILENT): the
// simulator applies them at once.

type Value = string | boolean | null
type Operator = '-eq' | '-ne' | '-startswith' | '-notstartswith' | '-contains' | '-notcontains' | '-in' | '-notin'

export type MembershipRule =
  | { kind: 'and' | 'or'; left: MembershipRule; right: MembershipRule }
  | { kind: 'not'; operand: MembershipRule }
  | { kind: 'compare'; property: string; operator: Operator; value: Value | Value[] }

const OPERATORS: ReadonlySet<string> = new Set(['-eq', '-ne', '-startswith', '-notstartswith', '-contains', '-notcontains', '-in', '-notin'])

export class MembershipRuleError extends Error {
  override readonly name = 'MembershipRuleError'
}

type Token = { kind: 'word' | 'string'; text: string } | { kind: '(' | ')' | '[' | ']' | ',' }

function tokenize(rule: string): Token[] {
  const tokens: Token[] = []
  for (let position = 0; position < rule.length;) {
    const char = rule.charAt(position)
    if (/\s/.test(char)) {
      position++
    } else if ('()[],'.includes(char)) {
      tokens.push({ kind: char as '(' | ')' | '[' | ']' | ',' })
      position++
    } else if (char === '"') {
      const end = rule.indexOf('"', position + 1)
      if (end === -1) throw new MembershipRuleError(`unterminated string in rule: ${rule}`)
      tokens.push({ kind: 'string', text: rule.slice(position + 1, end) })
      position = end + 1
    } else {
      const word = /^[-\w.]+/.exec(rule.slice(position))?.[0]
      if (!word) throw new MembershipRuleError(`unexpected '${char}' in rule: ${rule}`)
      tokens.push({ kind: 'word', text: word })
      position += word.length
    }
  }
  return tokens
}

export function parseMembershipRule(rule: string): MembershipRule {
  const tokens = tokenize(rule)
  let index = 0
  const fail = (why: string): never => {
    throw new MembershipRuleError(`${why} in rule: ${rule}`)
  }
  const next = (): Token => tokens[index++] ?? fail('unexpected end')
  const keyword = (word: string): boolean => {
    const token = tokens[index]
    if (token?.kind === 'word' && token.text.toLowerCase() === word) {
      index++
      return true
    }
    return false
  }
  const value = (): Value => {
    const token = next()
    if (token.kind === 'string') return token.text
    if (token.kind === 'word' && ['true', 'false', 'null'].includes(token.text.toLowerCase())) {
      return token.text.toLowerCase() === 'null' ? null : token.text.toLowerCase() === 'true'
    }
    return fail('expected a value')
  }
  const or = (): MembershipRule => {
    let left = and()
    while (keyword('-or')) left = { kind: 'or', left, right: and() }
    return left
  }
  const and = (): MembershipRule => {
    let left = unary()
    while (keyword('-and')) left = { kind: 'and', left, right: unary() }
    return left
  }
  const unary = (): MembershipRule => (keyword('-not') ? { kind: 'not', operand: unary() } : primary())
  const primary = (): MembershipRule => {
    const token = next()
    if (token.kind === '(') {
      const inner = or()
      if (next().kind !== ')') fail("expected ')'")
      return inner
    }
    if (token.kind !== 'word' || !/^user\.\w+$/i.test(token.text)) return fail('expected user.<property>')
    const operatorToken = next()
    const operator = operatorToken.kind === 'word' ? operatorToken.text.toLowerCase() : ''
    if (!OPERATORS.has(operator)) fail(`operator '${operator}' is not supported by the simulator`)
    const property = token.text.slice('user.'.length)
    if (operator !== '-in' && operator !== '-notin') return { kind: 'compare', property, operator: operator as Operator, value: value() }
    if (next().kind !== '[') fail("expected '[' after -in")
    const values: Value[] = [value()]
    for (let separator = next(); separator.kind === ','; separator = next()) values.push(value())
    if (tokens[index - 1]?.kind !== ']') fail("expected ']'")
    return { kind: 'compare', property, operator: operator as Operator, value: values }
  }
  const root = or()
  if (index < tokens.length) fail('unexpected trailing text')
  return root
}

const lower = (value: unknown): unknown => (typeof value === 'string' ? value.toLowerCase() : value)

/** Whether the user (a record with Graph's property names) satisfies the rule. */
export function matchesMembershipRule(user: object, rule: MembershipRule): boolean {
  switch (rule.kind) {
    case 'and': return matchesMembershipRule(user, rule.left) && matchesMembershipRule(user, rule.right)
    case 'or': return matchesMembershipRule(user, rule.left) || matchesMembershipRule(user, rule.right)
    case 'not': return !matchesMembershipRule(user, rule.operand)
    case 'compare': {
      const actual = lower((user as Record<string, unknown>)[rule.property] ?? null)
      const wanted = Array.isArray(rule.value) ? rule.value.map(lower) : lower(rule.value)
      const text = typeof actual === 'string' ? actual : ''
      switch (rule.operator) {
        case '-eq': return actual === wanted
        case '-ne': return actual !== wanted
        case '-startswith': return typeof wanted === 'string' && text.startsWith(wanted)
        case '-notstartswith': return !(typeof wanted === 'string' && text.startsWith(wanted))
        case '-contains': return typeof wanted === 'string' && text.includes(wanted)
        case '-notcontains': return !(typeof wanted === 'string' && text.includes(wanted))
        case '-in': return Array.isArray(wanted) && wanted.includes(actual)
        case '-notin': return !(Array.isArray(wanted) && wanted.includes(actual))
      }
    }
  }
}
