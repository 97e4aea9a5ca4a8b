// The README's sandbox walk-through, taken from README.md itself and run by bash against the
// real server twice, with a restart in between (issue 11.2): the sandbox keeps its state, so the
// simulated directory stays consistent with the audit log and every step answers the same.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test as Tap } from 'tap'
import { REPO, startServer, type ServerProcess } from './helpers/server-process.js'

// Real server processes on a busy machine: a safety net, not a speed requirement.
t.setTimeout(15 * 60_000)

const run = promisify(execFile)

async function walkthrough(): Promise<string> {
  const readme = await readFile(path.join(REPO, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Sandbox mode'))
  return /```sh\n([\s\S]*?)```/.exec(section)![1]!
}

interface Step { status: number; method: string; url: string }

/** Runs the README's commands against `base`; every curl call reports its status on stderr. */
async function runWalkthrough(script: string, base: string, cwd: string): Promise<{ steps: Step[]; stdout: string }> {
  const address = new URL(base).host
  const prelude = "curl() { command curl -w '%{stderr}\\nSTEP %{http_code} %{method} %{url_effective}\\n' \"$@\"; }\n"
  const { stdout, stderr } = await run('bash', ['-c', prelude + script.replaceAll('localhost:3000', address)], { cwd, maxBuffer: 16 * 1024 * 1024 })
  const steps = [...stderr.matchAll(/^STEP (\d{3}) (\S+) (\S+)$/gm)].map((m) => ({ status: Number(m[1]), method: m[2]!, url: m[3]!.replace(address, 'HOST') }))
  return { steps, stdout }
}

async function startSandbox(t: Tap, dataDir: string): Promise<{ server: ServerProcess; base: string }> {
  const server = startServer(t, { PORT: '0', GUESTGATE_DATA_DIR: dataDir })
  const base = (await server.waitFor(/Docs: (http:\/\/[^\s]+)\/docs/))[1]!
  return { server, base }
}


async function stop(t: Tap, server: ServerProcess) {
  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null }, 'stopped cleanly')
}

t.test('the README walk-through runs twice in a row, across a restart', async (t) => {
  const script = await walkthrough()
  const dataDir = await mkdtemp(path.join(tmpdir(), 'guestgate-readme-'))
  const cwd = await mkdtemp(path.join(tmpdir(), 'guestgate-readme-cwd-'))

  let { server, base } = await startSandbox(t, dataDir)
  const first = await runWalkthrough(script, base, cwd)
  t.ok(first.steps.length >= 20, `the walk-through made ${first.steps.length} calls`)
  const refused = first.steps.filter((s) => s.status >= 400)
  t.same(refused.map((s) => `${s.status} ${s.method}`), ['403 POST'], 'only the deliberate policy refusal fails')
  t.ok(first.steps.every((s) => s.status > 0 && s.status < 500), 'no server error, no failed connection')
  t.match(first.stdout, /"valid":true/, 'the audit chain verifies')

  // A guest that outlives the restart: the directory must still have it afterwards.
  const mint = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Manage'] }) })
  const { accessToken } = (await mint.json()) as { accessToken: string }
  const auth = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }
  const invited = await fetch(`${base}/v1/invitations`, { method: 'POST', headers: auth, body: JSON.stringify({ email: 'kept@partner.example', sendEmail: false }) })
  t.equal(invited.status, 201)
  const kept = ((await invited.json()) as { id: string }).id

  await stop(t, server)
  ;({ server, base } = await startSandbox(t, dataDir))

  const mint2 = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Manage'] }) })
  const auth2 = { authorization: `Bearer ${((await mint2.json()) as { accessToken: string }).accessToken}` }
  const after = await fetch(`${base}/v1/guests/${kept}`, { headers: auth2 })
  t.equal(after.status, 200, 'the guest invited before the restart is still in the directory')

  const second = await runWalkthrough(script, base, cwd)
  t.same(second.steps.map((s) => `${s.status} ${s.method} ${s.url}`.replace(/[0-9a-f-]{36}/g, 'ID')),
    first.steps.map((s) => `${s.status} ${s.method} ${s.url}`.replace(/[0-9a-f-]{36}/g, 'ID')), 'every step answers as the first time')
  t.match(second.stdout, /"valid":true/, 'the audit chain, now spanning both runs, verifies')
  await stop(t, server)
})
