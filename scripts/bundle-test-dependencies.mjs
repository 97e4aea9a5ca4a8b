// The ES-module packages a test process loads most, each bundled into a few files under
// dist-test/node_modules/, where Node's resolution finds them first for every compiled test and
// source file (dist-test/test, dist-test/src); the real packages in node_modules/ are untouched
// and serve everything else (the server's build, tap's runner, the sources run through tsx).
// Why: tap starts every test process with its processinfo module hook (no switch turns it off),
// and each ES module then crosses to the hook's thread and back: tap itself is about 180 modules,
// TypeBox about 250, jose about 50. Bundled, a test process that does nothing costs 1.07 -> 0.59
// CPU-seconds, one that imports the app 2.3 -> 1.8 (Node 20, this machine).
// Also runs `tap build` first (npm's install scripts do not run here), so the bundled tap has the
// plugins package.json's "tap" section asks for and tap's runner has nothing left to rebuild.
// Redone only when package.json, the lock file, tap's built test class or this script changed.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { build } from 'esbuild'
import { root } from './build-state.mjs'

const target = path.join(root, 'dist-test', 'node_modules')
const stampFile = path.join(root, 'dist-test', '.dependencies-stamp')
const testClass = path.join(root, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js')

/** Packages to bundle; `codeDir` keeps tap's code under a `node_modules/@tapjs/` path, which tap
 *  leaves out of the stack frames it reports (a failure's `at` then names the test, not tap). */
const packages = [
  { name: 'tap', codeDir: '@tapjs/tap-bundle' },
  { name: '@sinclair/typebox' },
  { name: 'jose' }
]

function inputsFingerprint() {
  const hash = createHash('sha256')
  for (const file of ['package.json', 'package-lock.json', path.relative(root, testClass), 'scripts/bundle-test-dependencies.mjs']) {
    const full = path.join(root, file)
    hash.update(`${file}\0`).update(existsSync(full) ? readFileSync(full) : '').update('\0')
  }
  return hash.digest('hex')
}

/** The package's exported subpaths with a fixed name ('.', './value'; not patterns or JSON). */
function subpaths(name) {
  const manifest = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8'))
  const exports = typeof manifest.exports === 'object' && manifest.exports !== null && !Array.isArray(manifest.exports) ? Object.keys(manifest.exports) : ['.']
  return exports.filter((subpath) => subpath.startsWith('.') && !subpath.includes('*') && !subpath.endsWith('.json'))
}

const fileFor = (subpath) => (subpath === '.' ? 'index' : subpath.slice(2).replaceAll('/', '-'))

async function bundle(into, { name, codeDir = name }) {
  const entries = Object.fromEntries(subpaths(name).map((subpath) => [fileFor(subpath), subpath === '.' ? name : `${name}${subpath.slice(1)}`]))
  const codeOut = path.join(into, codeDir)
  const result = await build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: codeOut,
    bundle: true,
    splitting: true, // one copy of what entry points share (TypeBox's registries are module state)
    format: 'esm',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // bundled CommonJS dependencies call require()
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" }
  })
  const packageDir = path.join(into, name)
  mkdirSync(packageDir, { recursive: true })
  writeFileSync(path.join(codeOut, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  if (codeOut !== packageDir) {
    // the package's own name resolves to one-line files that re-export the code elsewhere
    for (const file of Object.keys(entries)) {
      const output = Object.entries(result.metafile.outputs).find(([out]) => path.resolve(root, out) === path.join(codeOut, `${file}.js`))
      const from = path.relative(packageDir, path.join(codeOut, `${file}.js`)).replaceAll(path.sep, '/')
      const hasDefault = output?.[1].exports.includes('default') === true
      writeFileSync(path.join(packageDir, `${file}.js`), `export * from '${from}'\n${hasDefault ? `export { default } from '${from}'\n` : ''}`)
    }
  }
  const exportsMap = Object.fromEntries(subpaths(name).map((subpath) => [subpath, `./${fileFor(subpath)}.js`]))
  writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify({ name, type: 'module', private: true, exports: exportsMap }))
}

export async function bundleTestDependencies({ force = false } = {}) {
  if (!force && existsSync(target) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === inputsFingerprint()) return
  console.log('guestgate test build: tap build, then bundling tap, TypeBox and jose (dist-test/node_modules/)')
  const tapBuild = spawnSync(process.execPath, [path.join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), 'build'], { cwd: root, stdio: 'inherit' })
  if (tapBuild.status !== 0) throw new Error('tap build failed (the output is above)')
  // built beside the target and swapped in at once: a test process that starts meanwhile finds the
  // old set or the new one (only between the removal and the rename, a moment, it finds neither)
  const staging = `${target}.${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  for (const entry of packages) await bundle(staging, entry)
  rmSync(target, { recursive: true, force: true })
  renameSync(staging, target)
  writeFileSync(stampFile, inputsFingerprint())
}

if (import.meta.url === `file://${process.argv[1]}`) await bundleTestDependencies({ force: process.argv.includes('--force') })
