// The OData query options the simulator understands ($select, $filter, $search, $top,
// $skiptoken, $count) with Graph's rules for directory objects: advanced queries need
// `ConsistencyLevel: eventual` (and $count=true for advanced $filter operators).
import type { FastifyRequest } from 'fastify'
import { graphErrors } from './graph-error-bodies.js'
import { represent, type GraphObject, type ResourceShape } from './representations.js'

/** An unquoted Edm.DateTimeOffset literal, e.g. 2025-01-01T00:00:00Z. */
interface DateTimeLiteral {
  dateTime: number
}

type Literal = string | boolean | null | DateTimeLiteral

type CompareOperator = 'eq' | 'ne' | 'ge' | 'le' | 'gt' | 'lt'

const RANGE_OPERATORS: ReadonlySet<string> = new Set(['ge', 'le', 'gt', 'lt'])

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; operator: CompareOperator; property: string; value: Literal }
  | { kind: 'any'; property: string; value: Literal }
  | { kind: 'function'; name: 'startswith' | 'endswith'; property: string; value: string }

interface Token {
  kind: 'word' | 'string' | 'datetime' | '(' | ')' | ',' | ':'
  text: string
}

const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)/

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isGuid = (value: string): boolean => GUID.test(value)

const DEFAULT_PAGE_SIZE = 100
const MAX_PAGE_SIZE = 999

function tokenize(filter: string): Token[] {
  const tokens: Token[] = []
  let position = 0
  while (position < filter.length) {
    const char = filter.charAt(position)
    if (/\s/.test(char)) {
      position++
    } else if (char === '(' || char === ')' || char === ',' || char === ':') {
      tokens.push({ kind: char, text: char })
      position++
    } else if (char === "'") {
      // OData doubles a quote inside a string literal.
      let text = ''
      position++
      for (;;) {
        if (position >= filter.length) throw graphErrors.invalidFilter('unterminated string literal.')
        const next = filter.charAt(position)
        if (next === "'" && filter.charAt(position + 1) === "'") {
          text += "'"
          position += 2
        } else if (next === "'") {
          position++
          break
        } else {
          text += next
          position++
        }
      }
      tokens.push({ kind: 'string', text })
    } else if (DATE_TIME.test(filter.slice(position))) {
      const text = (DATE_TIME.exec(filter.slice(position)) as RegExpExecArray)[0]
      tokens.push({ kind: 'datetime', text })
      position += text.length
    } else {
      const word = /^[\w.\-/]+/.exec(filter.slice(position))
      if (!word) throw graphErrors.invalidFilter(`unexpected character '${char}' at position ${position}.`)
      tokens.push({ kind: 'word', text: word[0] })
      position += word[0].length
    }
  }
  return tokens
}

/** Recursive descent over: or > and > not > comparison | any() lambda | startswith/endswith() | ( ). */
export function parseFilter(filter: string): FilterNode {
  const tokens = tokenize(filter)
  let index = 0
  const peek = (): Token | undefined => tokens[index]
  const next = (): Token => {
    const token = tokens[index++]
    if (!token) throw graphErrors.invalidFilter('unexpected end of expression.')
    return token
  }
  const expect = (kind: Token['kind'], text?: string): Token => {
    const token = next()
    if (token.kind !== kind || (text !== undefined && token.text.toLowerCase() !== text)) {
      throw graphErrors.invalidFilter(`expected '${text ?? kind}' but found '${token.text}'.`)
    }
    return token
  }
  const isKeyword = (token: Token | undefined, keyword: string): boolean => token?.kind === 'word' && token.text.toLowerCase() === keyword
  const literal = (): Literal => {
    const token = next()
    if (token.kind === 'string') return token.text
    if (token.kind === 'datetime') {
      const dateTime = Date.parse(token.text)
      if (Number.isNaN(dateTime)) throw graphErrors.invalidFilter(`'${token.text}' is not a date and time.`)
      return { dateTime }
    }
    if (token.kind === 'word') {
      const word = token.text.toLowerCase()
      if (word === 'true' || word === 'false') return word === 'true'
      if (word === 'null') return null
      if (isGuid(token.text)) return token.text
    }
    throw graphErrors.invalidFilter(`'${token.text}' is not a literal.`)
  }

  const orExpression = (): FilterNode => {
    let left = andExpression()
    while (isKeyword(peek(), 'or')) {
      index++
      left = { kind: 'or', left, right: andExpression() }
    }
    return left
  }
  const andExpression = (): FilterNode => {
    let left = unary()
    while (isKeyword(peek(), 'and')) {
      index++
      left = { kind: 'and', left, right: unary() }
    }
    return left
  }
  const unary = (): FilterNode => {
    if (isKeyword(peek(), 'not')) {
      index++
      return { kind: 'not', operand: unary() }
    }
    return primary()
  }
  const primary = (): FilterNode => {
    const token = next()
    if (token.kind === '(') {
      const inner = orExpression()
      expect(')')
      return inner
    }
    if (token.kind !== 'word') throw graphErrors.invalidFilter(`unexpected '${token.text}'.`)
    const name = token.text.toLowerCase()
    if ((name === 'startswith' || name === 'endswith') && peek()?.kind === '(') {
      expect('(')
      const property = expect('word').text
      expect(',')
      const value = expect('string').text
      expect(')')
      return { kind: 'function', name, property, value }
    }
    if (name.endsWith('/any') && peek()?.kind === '(') {
      expect('(')
      const variable = expect('word').text
      expect(':')
      expect('word', variable.toLowerCase())
      expect('word', 'eq')
      const value = literal()
      expect(')')
      return { kind: 'any', property: token.text.slice(0, -'/any'.length), value }
    }
    const operator = expect('word').text.toLowerCase()
    if (operator !== 'eq' && operator !== 'ne' && !RANGE_OPERATORS.has(operator)) throw graphErrors.invalidFilter(`operator '${operator}' is not supported by the simulator.`)
    return { kind: 'compare', operator: operator as CompareOperator, property: token.text, value: literal() }
  }

  const root = orExpression()
  if (index < tokens.length) throw graphErrors.invalidFilter(`unexpected '${tokens[index]?.text}'.`)
  return root
}

/** Each property the filter tests, with how (range comparisons need a property that supports them). */
function filterTerms(node: FilterNode): Array<{ property: string; range: boolean }> {
  switch (node.kind) {
    case 'and':
    case 'or':
      return [...filterTerms(node.left), ...filterTerms(node.right)]
    case 'not':
      return filterTerms(node.operand)
    case 'compare':
      return [{ property: node.property, range: RANGE_OPERATORS.has(node.operator) }]
    default:
      return [{ property: node.property, range: false }]
  }
}

/** ne, not and endswith are "advanced" operators for directory objects. */
export function usesAdvancedOperators(node: FilterNode): boolean {
  switch (node.kind) {
    case 'and':
    case 'or':
      return usesAdvancedOperators(node.left) || usesAdvancedOperators(node.right)
    case 'not':
      return true
    case 'compare':
      return node.operator === 'ne'
    case 'any':
      return false
    case 'function':
      return node.name === 'endswith'
  }
}

const sameText = (value: unknown, expected: string): boolean => typeof value === 'string' && value.toLowerCase() === expected.toLowerCase()

const isDateTime = (literal: Literal): literal is DateTimeLiteral => typeof literal === 'object' && literal !== null

function equalsLiteral(value: unknown, literal: Literal): boolean {
  if (isDateTime(literal)) return typeof value === 'string' && Date.parse(value) === literal.dateTime
  return typeof literal === 'string' ? sameText(value, literal) : value === literal
}

/** ge/le/gt/lt on a date: a missing value (a user who never signed in) matches none of them. */
function inRange(value: unknown, operator: CompareOperator, literal: Literal): boolean {
  if (!isDateTime(literal) || typeof value !== 'string') return false
  const time = Date.parse(value)
  if (Number.isNaN(time)) return false
  switch (operator) {
    case 'ge': return time >= literal.dateTime
    case 'le': return time <= literal.dateTime
    case 'gt': return time > literal.dateTime
    case 'lt': return time < literal.dateTime
    default: return false
  }
}

/** A property path such as signInActivity/lastSignInDateTime. */
function valueAt(record: object, path: string): unknown {
  return path.split('/').reduce<unknown>((value, part) => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined), record)
}

/** Directory string comparisons ignore case. */
export function matchesFilter(record: object, node: FilterNode): boolean {
  switch (node.kind) {
    case 'and':
      return matchesFilter(record, node.left) && matchesFilter(record, node.right)
    case 'or':
      return matchesFilter(record, node.left) || matchesFilter(record, node.right)
    case 'not':
      return !matchesFilter(record, node.operand)
    case 'compare': {
      const value = valueAt(record, node.property)
      if (RANGE_OPERATORS.has(node.operator)) return inRange(value, node.operator, node.value)
      const equal = equalsLiteral(value, node.value)
      return node.operator === 'eq' ? equal : !equal
    }
    case 'any': {
      const collection = valueAt(record, node.property)
      return Array.isArray(collection) && collection.some((item) => equalsLiteral(item, node.value))
    }
    case 'function': {
      const value = valueAt(record, node.property)
      if (typeof value !== 'string') return false
      const [text, wanted] = [value.toLowerCase(), node.value.toLowerCase()]
      return node.name === 'startswith' ? text.startsWith(wanted) : text.endsWith(wanted)
    }
  }
}

/** `"displayName:jane" OR "mail:jane"`: clauses joined by AND/OR, AND binding tighter. */
export interface SearchClause {
  property: string
  text: string
}

export function parseSearch(search: string): SearchClause[][] {
  const alternatives: SearchClause[][] = [[]]
  let expectClause = true
  for (const match of search.matchAll(/"([^"]*)"|(\S+)/g)) {
    const [, quoted, word] = match
    if (expectClause) {
      if (quoted === undefined) throw graphErrors.invalidSearch(`expected a quoted "property:text" clause, found '${word}'.`)
      const separator = quoted.indexOf(':')
      if (separator <= 0) throw graphErrors.invalidSearch(`clause "${quoted}" must name a property: "property:text".`)
      alternatives.at(-1)?.push({ property: quoted.slice(0, separator), text: quoted.slice(separator + 1) })
    } else if (word === 'OR') {
      alternatives.push([])
    } else if (word !== 'AND') {
      throw graphErrors.invalidSearch(`expected AND or OR, found '${quoted ?? word}'.`)
    }
    expectClause = !expectClause
  }
  if (expectClause) throw graphErrors.invalidSearch('expected a clause after the last operator.')
  return alternatives
}

/** Properties whose $search is tokenized; every other string property matches like startswith. */
const TOKENIZED_SEARCH_PROPERTIES: ReadonlySet<string> = new Set(['displayName', 'description'])

/**
 * Words the way directory $search splits text: at spaces and symbols, at a change from lower
 * to upper case (camelCase) and between letters and digits; lower-cased.
 */
export function searchTokens(text: string): string[] {
  return text
    .replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{L})(\p{N})|(\p{N})(\p{L})/gu, (_match, l1, n1, n2, l2) => (l1 ? `${l1} ${n1}` : `${n2} ${l2}`))
    .split(/[^\p{L}\p{N}]+/u)
    .filter((token) => token !== '')
    .map((token) => token.toLowerCase())
}

/**
 * Directory $search, as documented (https://learn.microsoft.com/en-us/graph/search-query-parameter,
 * "Using $search on directory object collections"): displayName and description are tokenized and
 * each search word must begin a word of the value (the list-users example "displayName:wa" finds
 * "Oscar Ward"); any other string property behaves like $filter startswith. Case is ignored.
 * A substring inside a word ("artner" in "Partners") is not a match.
 */
function matchesSearchClause(value: unknown, { property, text }: SearchClause): boolean {
  if (typeof value !== 'string') return false
  if (!TOKENIZED_SEARCH_PROPERTIES.has(property)) return value.toLowerCase().startsWith(text.toLowerCase())
  const words = searchTokens(value)
  const wanted = searchTokens(text)
  return wanted.length > 0 && wanted.every((term) => words.some((word) => word.startsWith(term)))
}

function matchesSearch(record: object, alternatives: SearchClause[][]): boolean {
  const values = record as Record<string, unknown>
  return alternatives.some((clauses) => clauses.every((clause) => matchesSearchClause(values[clause.property], clause)))
}

/** The request's $-options, names lower-cased (Graph accepts $skipToken too); others are refused. */
function queryOptions(request: FastifyRequest, allowed: readonly string[]): Map<string, string> {
  const options = new Map<string, string>()
  for (const [key, raw] of Object.entries(request.query as Record<string, string | string[] | undefined>)) {
    if (!key.startsWith('$')) continue
    const name = key.toLowerCase()
    if (!allowed.includes(name)) throw graphErrors.unsupportedQueryOption(key)
    const value = Array.isArray(raw) ? raw.at(-1) : raw
    if (value !== undefined) options.set(name, value)
  }
  return options
}

function parseSelect<T>(select: string | undefined, shape: ResourceShape<T>): string[] | undefined {
  if (select === undefined) return undefined
  const names = select.split(',').map((name) => name.trim()).filter((name) => name !== '')
  for (const name of names) {
    const known = (shape.properties as readonly string[]).includes(name) || shape.unmodelledProperties.includes(name)
    if (!known) throw graphErrors.unknownSelectProperty(name, shape.typeName)
  }
  return names
}

function checkFilter<T>(node: FilterNode, shape: ResourceShape<T>): void {
  const terms = filterTerms(node)
  for (const { property, range } of terms) {
    const root = property.split('/')[0] ?? property
    if (!(shape.properties as readonly string[]).includes(root)) throw graphErrors.unknownFilterProperty(property)
    if (!shape.filterable.includes(property)) throw graphErrors.unsupportedFilterProperty(property, shape.entityName)
    if (range && !(shape.rangeFilterable ?? []).includes(property)) throw graphErrors.unsupportedFilterProperty(property, shape.entityName)
  }
  // Some properties may not be combined with any other in one filter (signInActivity: user.md).
  const isolated = terms.filter(({ property }) => (shape.isolatedFilterProperties ?? []).includes(property))
  if (isolated.length > 0 && isolated.length < terms.length) throw graphErrors.unsupportedFilterProperty(isolated[0]?.property ?? '', shape.entityName)
}

function checkSearch<T>(alternatives: SearchClause[][], shape: ResourceShape<T>): void {
  for (const { property } of alternatives.flat()) {
    if (!(shape.searchable as readonly string[]).includes(property)) throw graphErrors.unsupportedSearchProperty(property, shape.entityName)
  }
}

function pageSize(top: string | undefined, cap: number): number {
  if (top === undefined) return Math.min(DEFAULT_PAGE_SIZE, cap)
  const size = Number(top)
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw graphErrors.invalidPageSize(top)
  return Math.min(size, cap)
}

const SKIP_TOKEN_PREFIX = 'simulator-offset:'

function encodeSkipToken(offset: number): string {
  return Buffer.from(`${SKIP_TOKEN_PREFIX}${offset}`).toString('base64url')
}

function decodeSkipToken(token: string | undefined): number {
  if (token === undefined) return 0
  const decoded = Buffer.from(token, 'base64url').toString()
  const offset = Number(decoded.slice(SKIP_TOKEN_PREFIX.length))
  if (!decoded.startsWith(SKIP_TOKEN_PREFIX) || !Number.isInteger(offset) || offset < 0) throw graphErrors.invalidSkipToken()
  return offset
}

/** A request URL's path and raw query string (without the '?'). */
export function splitUrl(url: string): { path: string; query: string } {
  const mark = url.indexOf('?')
  return mark === -1 ? { path: url, query: '' } : { path: url.slice(0, mark), query: url.slice(mark + 1) }
}

/** Same URL as the request (host included), its $skiptoken replaced. */
function nextLink(request: FastifyRequest, offset: number): string {
  const { path, query } = splitUrl(request.url)
  const kept = query.split('&').filter((part) => {
    if (part === '') return false
    const key = part.split('=', 1)[0] ?? ''
    try {
      return decodeURIComponent(key).toLowerCase() !== '$skiptoken'
    } catch {
      return true
    }
  })
  kept.push(`$skiptoken=${encodeSkipToken(offset)}`)
  return `${request.protocol}://${request.host}${path}?${kept.join('&')}`
}

const isEventuallyConsistent = (request: FastifyRequest): boolean =>
  String(request.headers.consistencylevel ?? '').toLowerCase() === 'eventual'

export interface CollectionBody {
  '@odata.count'?: number
  '@odata.nextLink'?: string
  value: GraphObject[]
}

export interface CollectionOptions {
  /** Any $filter on this collection is an advanced query (e.g. group members). */
  filterIsAdvanced?: boolean
  /** A page never holds more than this, whatever $top asks (it is not an error). */
  pageCap?: number
  /** Uncast navigation collections (members, memberOf) tag each item with its type. */
  annotateType?: boolean
}

/** Filters, searches, counts, pages and projects a collection the way Graph does. */
export function collectionResponse<T extends object>(
  request: FastifyRequest,
  records: readonly T[],
  shape: ResourceShape<T>,
  options: CollectionOptions = {},
): CollectionBody {
  const query = queryOptions(request, ['$select', '$filter', '$search', '$top', '$skiptoken', '$count'])
  const eventual = isEventuallyConsistent(request)
  const count = query.get('$count')?.toLowerCase() === 'true'

  const filter = query.has('$filter') ? parseFilter(query.get('$filter') ?? '') : undefined
  if (filter) checkFilter(filter, shape)
  const search = query.has('$search') ? parseSearch(query.get('$search') ?? '') : undefined
  if (search) checkSearch(search, shape)

  if (search && !eventual) throw graphErrors.searchRequiresEventual()
  if (filter && (options.filterIsAdvanced || usesAdvancedOperators(filter)) && !(eventual && count)) {
    throw graphErrors.advancedQueryRequired()
  }
  // $count=true without ConsistencyLevel: eventual is ignored, not refused
  // (https://learn.microsoft.com/en-us/graph/aad-advanced-queries): no @odata.count then.
  const counted = count && eventual

  const select = parseSelect(query.get('$select'), shape)
  const size = pageSize(query.get('$top'), options.pageCap ?? MAX_PAGE_SIZE)
  const offset = decodeSkipToken(query.get('$skiptoken'))

  const matching = records.filter((record) => (!filter || matchesFilter(record, filter)) && (!search || matchesSearch(record, search)))
  const page = matching.slice(offset, offset + size).map((record) => {
    const body = represent(record, shape, select)
    return options.annotateType ? { '@odata.type': `#${shape.typeName}`, ...body } : body
  })

  const body: CollectionBody = { value: page }
  if (counted) body['@odata.count'] = matching.length
  if (offset + size < matching.length) body['@odata.nextLink'] = nextLink(request, offset + size)
  return body
}

/** One object, projected by $select. */
export function entityResponse<T extends object>(request: FastifyRequest, record: T, shape: ResourceShape<T>): GraphObject {
  const query = queryOptions(request, ['$select'])
  return represent(record, shape, parseSelect(query.get('$select'), shape))
}

/** One item of a directoryObject collection that mixes types (sponsors: users and groups). */
export interface MixedItem {
  record: object
  shape: ResourceShape<object>
}

/**
 * A directoryObject collection: each item tagged with its @odata.type, projected by $select
 * (a name any of the types has; each item gets the names its own type has). No paging: such
 * lists are short (sponsors: at most five).
 */
export function mixedCollectionResponse(request: FastifyRequest, items: readonly MixedItem[], shapes: ReadonlyArray<ResourceShape<object>>): CollectionBody {
  const query = queryOptions(request, ['$select'])
  const select = query.get('$select')?.split(',').map((name) => name.trim()).filter((name) => name !== '')
  for (const name of select ?? []) {
    const known = shapes.some((shape) => (shape.properties as readonly string[]).includes(name) || shape.unmodelledProperties.includes(name))
    if (!known) throw graphErrors.unknownSelectProperty(name, 'microsoft.graph.directoryObject')
  }
  return {
    value: items.map(({ record, shape }) => {
      const own = select?.filter((name) => (shape.properties as readonly string[]).includes(name))
      return { '@odata.type': `#${shape.typeName}`, ...represent(record, shape, own) }
    }),
  }
}
