// `npm test` runs the tests compiled (dist-test/, by tsc with tsconfig.test.json), not through a
// TypeScript loader: tsx cost each test process about 2 CPU-seconds of its start (its hooks see
// every module the app and tap load), about 200 CPU-seconds a run of the suite. Builds only when
// src/, test/, bench/, scripts/ or the configuration changed (tsc's incremental build then
// re-checks what changed); a type error fails it. Compiled files whose source is gone are removed,
// so tap never runs a deleted test. No source maps: tap's module hook and Node parse the map of
// every module that names one (about 0.15 CPU-seconds per test process); a failure's stack names
// the compiled line, and `npx tap --node-arg=--import=tsx test/<file>.test.ts` runs the source.
// Then bundles the ES-module packages test processes load most (scripts/bundle-test-dependencies.mjs).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { root, testBuildState, testStampFile } from './build-state.mjs'
import { bundleTestDependencies } from './bundle-test-dependencies.mjs'

const out = path.join(root, 'dist-test')
const force = process.argv.includes('--force')
const { all, upToDate } = testBuildState()
if (!upToDate || force) compileTests()
await bundleTestDependencies({ force })

function compileTests() {
  console.log('guestgate test build: compiling the tests (dist-test/)')
  const result = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error('guestgate test build: tsc -p tsconfig.test.json failed (the errors are above)')
    process.exit(result.status ?? 1)
  }
  prune(out)
  writeFileSync(testStampFile, all)
}

function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (file !== path.join(out, 'node_modules')) prune(file) // bundled dependencies, not compiled
      continue
    }
    const compiled = /^(.*)\.js(\.map)?$/.exec(file)
    if (compiled && !existsSync(path.join(root, path.relative(out, compiled[1])) + '.ts')) rmSync(file)
  }
}
