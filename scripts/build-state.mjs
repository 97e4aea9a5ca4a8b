// Whether dist/ is the build of the sources as they are now: a fingerprint of the build's inputs
// (src/ without the generated client, the Prisma schema, the TypeScript and Prisma
// configuration, the lock file) against the one the last build recorded. Used by the build
// (scripts/build.mjs), by tests that run the built entry points, and, with test/, bench/ and
// scripts/ added, by the tests' own build (scripts/build-tests.mjs, dist-test/).
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const stampFile = path.join(root, 'dist', '.build-stamp')
export const testStampFile = path.join(root, 'dist-test', '.build-stamp')

function files(dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name)
    if (entry.isDirectory()) return relative === path.join('src', 'generated') ? [] : files(relative)
    return [relative]
  })
}

function fingerprint(paths) {
  const hash = createHash('sha256')
  for (const file of paths.sort()) hash.update(`${file}\0`).update(readFileSync(path.join(root, file))).update('\0')
  return hash.digest('hex')
}

const prismaInputs = ['prisma/schema.prisma', 'prisma.config.ts', 'package-lock.json']

/** The inputs' fingerprints now, the last build's, and whether dist/ is current. */
export function buildState() {
  const inputs = { prisma: fingerprint(prismaInputs), all: fingerprint([...files('src'), 'tsconfig.json', ...prismaInputs]) }
  const previous = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : {}
  const clientPresent = existsSync(path.join(root, 'src', 'generated', 'prisma', 'client.ts'))
  const upToDate = previous.all === inputs.all && clientPresent && existsSync(path.join(root, 'dist', 'server.js'))
  return { inputs, previous, clientPresent, upToDate }
}

/** The tests' build (tsconfig.test.json into dist-test/): its inputs' fingerprint now, and whether
 *  dist-test/ is their build. */
export function testBuildState() {
  const all = fingerprint([...files('src'), ...files('test'), ...files('bench'), ...files('scripts'), 'tsconfig.json', 'tsconfig.test.json', ...prismaInputs])
  const previous = existsSync(testStampFile) ? readFileSync(testStampFile, 'utf8') : ''
  return { all, upToDate: previous === all && existsSync(path.join(root, 'dist-test', 'test')) }
}
