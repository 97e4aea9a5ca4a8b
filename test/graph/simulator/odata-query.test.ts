import t from 'tap'
import { GraphError } from '../../../src/graph/simulator/graph-error-bodies.js'
import { matchesFilter, parseFilter, parseSearch, usesAdvancedOperators } from '../../../src/graph/simulator/odata-query.js'

const user = {
  mail: 'Jane@Partner.example',
  otherMails: ["o'brien@example.com"],
  userPrincipalName: 'jane_partner.example#EXT#@sandbox.onmicrosoft.com',
  userType: 'Guest',
  externalUserState: 'PendingAcceptance',
  accountEnabled: true,
  id: 'f0000000-0000-4000-8000-000000000009',
}

t.test('the address lookup filter the gateway sends', async (t) => {
  const filter = parseFilter("mail eq 'x@y.example' or otherMails/any(x:x eq 'O''Brien@example.com') or userPrincipalName eq 'x@y.example'")
  t.match(filter, { kind: 'or', right: { kind: 'compare', property: 'userPrincipalName' } })
  t.ok(matchesFilter(user, filter), "otherMails matches, quotes doubled, case ignored")
  t.notOk(usesAdvancedOperators(filter))
  t.ok(matchesFilter(user, parseFilter("mail eq 'jane@partner.EXAMPLE'")))
  t.notOk(matchesFilter(user, parseFilter("otherMails/any(s:s eq 'jane@partner.example')")))
})

t.test('guest filters with and, endswith, not, ne, booleans and GUIDs', async (t) => {
  const guests = parseFilter("userType eq 'Guest' and externalUserState eq 'PendingAcceptance' and endswith(mail,'@partner.example')")
  t.ok(matchesFilter(user, guests))
  t.ok(usesAdvancedOperators(guests), 'endswith is advanced')
  t.notOk(matchesFilter(user, parseFilter("userType eq 'Guest' and externalUserState eq 'Accepted'")))
  t.ok(matchesFilter(user, parseFilter("startswith(mail,'jane')")))
  t.ok(matchesFilter(user, parseFilter('accountEnabled eq true and (id eq F0000000-0000-4000-8000-000000000009)')))
  const negated = parseFilter("not(userType eq 'Member') and mail ne null")
  t.ok(matchesFilter(user, negated))
  t.ok(usesAdvancedOperators(negated))
})

t.test('malformed filters throw Graph errors', async (t) => {
  for (const filter of ["mail eq 'open", "mail eq", "mail has 'a'", "(mail eq 'a'", "mail eq 'a' 'b'", "mail eq banana", 'mail eq "a"']) {
    t.throws(() => parseFilter(filter), GraphError, filter)
  }
})

t.test('$search clauses: OR of AND groups, property named in each clause', async (t) => {
  t.same(parseSearch('"displayName:jane" OR "mail:jane"'), [[{ property: 'displayName', text: 'jane' }], [{ property: 'mail', text: 'jane' }]])
  t.same(parseSearch('"displayName:jane roe" AND "mail:partner"'), [[{ property: 'displayName', text: 'jane roe' }, { property: 'mail', text: 'partner' }]])
  for (const search of ['jane', '"jane"', '"displayName:jane" OR', '"displayName:a" "mail:b"', '']) {
    t.throws(() => parseSearch(search), GraphError, search)
  }
})
