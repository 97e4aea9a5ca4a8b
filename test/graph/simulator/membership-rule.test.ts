import t from 'tap'
import { matchesMembershipRule, MembershipRuleError, parseMembershipRule } from '../../../src/graph/simulator/membership-rule.js'

const guest = { userType: 'Guest', accountEnabled: true, mail: 'Ann@Partner.example', companyName: null }
const member = { userType: 'Member', accountEnabled: false, mail: 'adele@sandbox.example', companyName: 'Contoso' }

t.test('rules evaluate as Entra evaluates them (case-insensitive values)', async (t) => {
  const cases: Array<[string, boolean, boolean]> = [
    ['(user.userType -eq "Guest")', true, false],
    ['user.userType -eq "guest"', true, false],
    ['user.userType -ne "Guest"', false, true],
    ['(user.userType -eq "Guest") -and (user.accountEnabled -eq true)', true, false],
    ['(user.userType -eq "Member") -or (user.mail -startsWith "ann@")', true, true],
    ['-not (user.userType -eq "Guest")', false, true],
    ['user.mail -contains "partner"', true, false],
    ['user.mail -notContains "partner"', false, true],
    ['user.mail -notStartsWith "adele"', true, false],
    ['user.companyName -eq null', true, false],
    ['user.userType -in ["Guest","Other"]', true, false],
    ['user.userType -notIn ["Guest"]', false, true],
  ]
  for (const [rule, forGuest, forMember] of cases) {
    const parsed = parseMembershipRule(rule)
    t.equal(matchesMembershipRule(guest, parsed), forGuest, `${rule}: guest`)
    t.equal(matchesMembershipRule(member, parsed), forMember, `${rule}: member`)
  }
})

t.test('syntax the simulator does not evaluate is refused, never read as "no members"', async (t) => {
  for (const rule of ['user.userType -match "G.*"', 'device.deviceOSType -eq "Windows"', '(user.userType -eq "Guest"', 'user.userType -eq', 'user.userType -eq "Guest" extra', 'user.mail -eq "unterminated']) {
    t.throws(() => parseMembershipRule(rule), MembershipRuleError, rule)
  }
})
