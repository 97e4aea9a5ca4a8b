// Issue 12.5: /docs in a real browser (headless Chromium, Debian's package, driven by
// playwright-core): Authorize with a sandbox token, Try it out on the invitation with its example
// body, and the answer is 201. Skipped, saying why, only where /usr/bin/chromium is not installed
// (.ci/run installs it).
import { existsSync } from 'node:fs'
import t from 'tap'
import { chromium } from 'playwright-core'
import { build } from '../helper.js'

const CHROMIUM = '/usr/bin/chromium'
// Generous: a busy CI machine shares two cores between several Chromium and Node processes.
const STEP_TIMEOUT_MS = 60_000

t.test('/docs: Authorize with a sandbox token, then Try it out on createInvitation with its example: 201', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`,
}, async (t) => {
  const { app, simulator } = await build(t)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const example = { roles: ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read'], name: 'Ada Admin' }
  const minted = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(example) })
  const { accessToken } = await minted.json() as { accessToken: string }

  // Root in a container has no user namespaces for Chromium's sandbox.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  const failedRequests: string[] = []
  page.on('requestfailed', (request) => failedRequests.push(request.url()))

  await page.goto(`${base}/docs`)
  await t.resolves(page.getByText('Getting a token', { exact: false }).first().waitFor(), 'the page says how to get a sandbox token')

  await page.locator('.scheme-container button.authorize').click()
  await page.locator('.auth-container input').first().fill(accessToken)
  await page.locator('.auth-btn-wrapper button.authorize').click()
  await page.locator('.auth-btn-wrapper button.btn-done').click()

  const operation = page.locator('#operations-invitations-createInvitation')
  await operation.locator('.opblock-summary').click()
  await operation.locator('.try-out__btn').click()
  const body = await operation.locator('textarea.body-param__text').inputValue()
  t.match(JSON.parse(body), { email: 'jane@partner.example', redirectUrl: 'https://myapps.microsoft.com/' }, 'the body is prefilled with the example')
  await operation.locator('button.execute').click()
  const status = operation.locator('.live-responses-table .response .response-col_status').first()
  await status.waitFor()
  t.equal((await status.innerText()).trim(), '201', 'the invitation is created')
  t.ok(simulator.state.findUserByEmail('jane@partner.example'), 'the guest is in the directory')
  t.same(failedRequests, [], 'every asset and call of the page loaded')
})
