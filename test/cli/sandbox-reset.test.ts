// `npm run sandbox:reset`: removes the sandbox folder, never while a server holds it, never a
// folder that is not a sandbox's.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { resetSandbox } from '../../src/cli/sandbox-reset.js'

async function sandboxFolder(): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'guestgate-reset-')), '.data')
  await mkdir(path.join(dir, 'pglite', 'pgdata'), { recursive: true })
  await writeFile(path.join(dir, 'graph-simulator.json'), '{}')
  // A write of the simulator's state interrupted by a crash.
  await writeFile(path.join(dir, 'graph-simulator.json.4242.0a1b2c3d.tmp'), '{')
  return dir
}

t.test('removes a sandbox folder nobody uses (relative to the working directory)', async (t) => {
  const dir = await sandboxFolder()
  t.match(await resetSandbox('.data', path.dirname(dir)), /sandbox reset: removed/)
  t.notOk(existsSync(dir))
  t.match(await resetSandbox('.data', path.dirname(dir)), /nothing to reset/)
})

t.test('refuses while a server holds the folder or its embedded database', async (t) => {
  for (const lock of ['guestgate.lock', 'pglite/guestgate-embedded.lock']) {
    const dir = await sandboxFolder()
    await writeFile(path.join(dir, lock), String(process.pid))
    await t.rejects(resetSandbox(dir), { message: new RegExp(`GUESTGATE_DATA_DIR: .* is in use by a running guestgate \\(process ${process.pid}\\)`) }, lock)
    t.ok(existsSync(path.join(dir, 'pglite', 'pgdata')), 'nothing removed')
  }
})

t.test('a lock left by a dead process does not stop the reset', async (t) => {
  const dir = await sandboxFolder()
  await writeFile(path.join(dir, 'guestgate.lock'), '2147483646')
  t.match(await resetSandbox(dir), /removed/)
})

t.test('refuses folders that are not a sandbox\'s', async (t) => {
  const dir = await sandboxFolder()
  await writeFile(path.join(dir, 'thesis.docx'), 'years of work')
  await t.rejects(resetSandbox(dir), { message: /does not look like a sandbox folder \(it holds thesis\.docx\): not removed/ })
  t.ok(existsSync(path.join(dir, 'thesis.docx')))
  const cwd = await mkdtemp(path.join(tmpdir(), 'guestgate-reset-cwd-'))
  await t.rejects(resetSandbox('.', cwd), { message: /refusing to remove/ })
})
