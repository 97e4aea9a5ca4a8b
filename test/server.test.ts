// The README's first command: the server starts with no configuration at all, in sandbox mode,
// says so, serves, and stops cleanly on SIGTERM.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { entryPoint } from './helpers/processes.js'

t.test('sandbox mode with no configuration: listens, says it is a sandbox, is ready, stops on SIGTERM', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'guestgate-server-'))
  // The compile cache's default place is the temporary folder's node-compile-cache.
  const compileCache = path.join(dataDir, 'node-compile-cache')
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', PORT: '0', GUESTGATE_DATA_DIR: dataDir, TMPDIR: dataDir }
  const server = spawn(process.execPath, entryPoint('src/server.ts'), { env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { server.kill('SIGKILL') })
  let output = ''
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Docs: (http:\/\/127\.0\.0\.1:\d+)\/docs/.exec(output)
      if (match) resolve(match[1]!)
    }
    server.stdout.on('data', onData)
    server.stderr.on('data', onData)
    server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)))
  })
  const base = await listening
  // Node 22 (the image's): what the start compiled is on disk once it has started, not only at
  // exit (src/startup/compile-cache.ts). Node 20 has no compile cache.
  const cached = await readdir(compileCache, { recursive: true }).catch(() => [])
  if (Number(process.versions.node.split('.')[0]) >= 22) t.ok(cached.length > 1, `compile cache written at start (${cached.length} entries)`)
  else t.same(cached, [], 'Node 20: no compile cache')
  t.match(output, /SANDBOX MODE/)
  t.match(output, /embedded Graph simulator/)
  const ready = await fetch(`${base}/readyz`)
  t.equal(ready.status, 200)
  const mint = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Invite'] }) })
  t.equal(mint.status, 201)
  const exited = once(server, 'exit')
  server.kill('SIGTERM')
  const [code] = (await exited) as [number | null]
  t.equal(code, 0, 'clean exit')
  t.notMatch(output, /accessToken|eyJ/, 'no token in the output')
})
