// The committed spec is what clients are generated from: it must equal what the routes produce,
// validate as OpenAPI 3, and lint clean. `npm run openapi` rewrites it.
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { packageRoot } from '../../src/package-root.js'
import { build } from '../helper.js'

const specPath = path.join(packageRoot(), 'openapi', 'openapi.json')

t.test('the committed OpenAPI document matches the routes, validates and lints clean', async (t) => {
  const { app } = await build(t)
  const generated = `${JSON.stringify(app.swagger(), null, 2)}\n`
  if (process.env.UPDATE_OPENAPI === '1') await writeFile(specPath, generated)
  const committed = await readFile(specPath, 'utf8').catch(() => '')
  t.equal(committed, generated, 'openapi/openapi.json is up to date (run `npm run openapi` after changing routes)')

  const served = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(served.statusCode, 200)
  t.same(served.json(), JSON.parse(generated))
  const docs = await app.inject({ method: 'GET', url: '/docs' })
  t.ok(docs.statusCode === 200 || docs.statusCode === 302, 'docs page served without a token')

  const result = await new Validator().validate(JSON.parse(generated) as Record<string, unknown>)
  t.ok(result.valid, `valid OpenAPI 3: ${JSON.stringify(result.errors)}`)

  type Operation = { operationId?: string; tags?: string[]; summary?: string; parameters?: unknown[]; requestBody?: unknown; security?: unknown[]; responses: Record<string, unknown> }
  const spec = JSON.parse(generated) as { paths: Record<string, Record<string, Operation>> }
  for (const [route, operations] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const name = `${method.toUpperCase()} ${route}`
      t.ok(op.operationId, `${name} has an operationId`)
      t.ok(op.tags?.length, `${name} has tags`)
      t.ok(op.summary, `${name} has a summary`)
      const codes = Object.keys(op.responses)
      // Health checks take no input and no token: no client error is possible.
      const takesInput = Boolean(op.parameters?.length || op.requestBody || op.security?.length !== 0)
      if (takesInput) t.ok(codes.some((c) => c.startsWith('4')), `${name} documents a 4xx`)
      t.ok(codes.some((c) => c.startsWith('5')), `${name} documents a 5xx`)
      for (const code of codes.filter((c) => /^[45]/.test(c))) {
        t.ok(JSON.stringify(op.responses[code]).includes('application/problem+json'), `${name} ${code} is typed problem+json`)
      }
    }
  }

  const lint = execFileSync(path.join(packageRoot(), 'node_modules', '.bin', 'redocly'),
    ['lint', specPath, '--format=json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const { problems } = JSON.parse(lint) as { problems: { severity: string; ruleId: string; message: string }[] }
  t.same(problems.filter((p) => p.severity === 'error'), [], 'redocly lint: no errors')
})
