// Issue 12.5: the contract as a generated client sees it. A TypeScript client is generated from the
// served /openapi.json (openapi-typescript), a script that drives the whole walk-through with
// openapi-fetch is type-checked against it with no cast (tsc on a temporary project holding only
// the script and the generated types), then run against the app listening on a port.
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import openapiTS, { astToString } from 'openapi-typescript'
import { packageRoot } from '../../src/package-root.js'
import { build } from '../helper.js'

/** What ./client/walkthrough.ts exports. It is loaded by a computed specifier: the project's own
 *  type check cannot follow it there, since its ./schema.js exists only in the temporary project. */
interface WalkthroughModule {
  walkthrough(baseUrl: string, email: string): Promise<{
    steps: { step: string; status: number }[]
    guestId: string
    location: string | null
    refusal: string | null
    exportedCsv: string
  }>
}
const isWalkthroughModule = (value: unknown): value is WalkthroughModule =>
  typeof value === 'object' && value !== null && 'walkthrough' in value && typeof value.walkthrough === 'function'

const run = promisify(execFile)
const root = packageRoot()

t.test('a client generated from /openapi.json type-checks the walk-through without casts, and the walk-through runs', async (t) => {
  const { app } = await build(t)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })

  const served = await fetch(`${base}/openapi.json`)
  t.equal(served.status, 200)
  const types = astToString(await openapiTS(await served.text()))

  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-client-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(path.join(dir, 'schema.ts'), types)
  await copyFile(path.join(root, 'test', 'openapi', 'client', 'walkthrough.ts'), path.join(dir, 'walkthrough.ts'))
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true,
      outDir: 'out', skipLibCheck: true, lib: ['ES2022', 'DOM'], types: [],
    },
    files: ['walkthrough.ts', 'schema.ts'],
  }))
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const checked = await run(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(() => '', (error: { stdout?: string; message?: string }) => error.stdout ?? error.message ?? 'tsc failed')
  t.equal(checked, '', 'the walk-through type-checks against the generated client')

  // The walk-through runs as tsc compiled it here (the test itself may run compiled, or through tsx).
  const script: unknown = await import(pathToFileURL(path.join(dir, 'out', 'walkthrough.js')).href)
  if (!isWalkthroughModule(script)) throw new Error('client/walkthrough.ts exports no walkthrough()')
  const result = await script.walkthrough(base, 'jane.client@partner.example')
  t.same(result.steps.map((s) => `${s.step} ${s.status}`), [
    'invite 201', 'group 200', 'app roles 200', 'app role 201', 'resend 200', 'list 200', 'read 200',
    'refused invite 403', 'revoke 200', 'audit query 200', 'audit export 200', 'delete 204',
  ], 'every step of the walk-through answers as documented')
  t.equal(result.location, `/v1/guests/${result.guestId}`, 'the invitation answers with Location')
  t.equal(result.refusal, 'policy_denied', 'the refusal carries its code')
  t.match(result.exportedCsv, result.guestId, 'the export holds the guest\'s rows')
})
