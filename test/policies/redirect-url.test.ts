import t from 'tap'
import { isUnderPrefix, redirectUrlProblem, urlPrefixProblem } from '../../src/policies/redirect-url.js'

const MYAPPS = 'https://myapps.microsoft.com/'
const PORTAL = 'https://portal.partner.example/welcome'

const cases: [url: string, prefix: string, under: boolean][] = [
  ['https://myapps.microsoft.com/', MYAPPS, true],
  ['https://myapps.microsoft.com/?tenantid=x', MYAPPS, true],
  ['https://MYAPPS.microsoft.com/signin', MYAPPS, true],
  ['https://myapps.microsoft.com:443/', MYAPPS, true],
  ['https://myapps.microsoft.com', MYAPPS, true],
  ['http://myapps.microsoft.com/', MYAPPS, false],
  ['https://myapps.microsoft.com.evil.example/', MYAPPS, false],
  ['https://evil.example/?https://myapps.microsoft.com/', MYAPPS, false],
  ['https://evil.example/https://myapps.microsoft.com/', MYAPPS, false],
  ['https://myapps.microsoft.com@evil.example/', MYAPPS, false],
  ['https://user:pw@myapps.microsoft.com/', MYAPPS, false],
  ['https://myapps.microsoft.com:8443/', MYAPPS, false],
  ['https://xn--myapps-microsoft-com.evil.example/', MYAPPS, false],
  ['//myapps.microsoft.com/', MYAPPS, false],
  ['https://portal.partner.example/welcome', PORTAL, true],
  ['https://portal.partner.example/welcome/next', PORTAL, true],
  ['https://portal.partner.example/welcomepage', PORTAL, false],
  ['https://portal.partner.example/other/../welcome', PORTAL, true],
  ['https://portal.partner.example/welcome/../admin', PORTAL, false],
  ['https://portal.partner.example/welcome/%2e%2e/admin', PORTAL, false],
  ['https://portal.partner.example/', PORTAL, false],
]

for (const [url, prefix, under] of cases) {
  t.equal(isUnderPrefix(url, prefix), under, `${url} ${under ? 'is' : 'is not'} under ${prefix}`)
}

t.equal(redirectUrlProblem('http://myapps.microsoft.com/'), 'it must use https')
t.equal(redirectUrlProblem('nonsense'), 'it is not a valid URL')
t.equal(redirectUrlProblem(MYAPPS), null)
t.equal(urlPrefixProblem('http://myapps.microsoft.com/'), 'must start with https://')
t.equal(urlPrefixProblem('https://a.example/#x'), 'must not contain a query (?) or fragment (#)')
t.equal(urlPrefixProblem(PORTAL), null)
