// `npm run build` and the step before `npm start`: generates the Prisma client and compiles
// TypeScript only when an input changed since the last build, so a second `npm start` starts
// at once. Inputs: src/ (without the generated client), the Prisma schema, the TypeScript and
// Prisma configuration, the lock file. `--force` builds anyway.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const stampFile = path.join(root, 'dist', '.build-stamp')

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
const inputs = { prisma: fingerprint(prismaInputs), all: fingerprint([...files('src'), 'tsconfig.json', ...prismaInputs]) }
const previous = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : {}
const force = process.argv.includes('--force')
const clientPresent = existsSync(path.join(root, 'src', 'generated', 'prisma', 'client.ts'))

if (!force && previous.all === inputs.all && clientPresent && existsSync(path.join(root, 'dist', 'server.js'))) {
  console.log('guestgate build: up to date (nothing changed since the last build)')
  process.exit(0)
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (result.status !== 0) {
    console.error(`guestgate build: \`${command} ${args.join(' ')}\` failed`)
    process.exit(result.status ?? 1)
  }
}

const bin = (name) => path.join(root, 'node_modules', '.bin', name)
console.log('guestgate build: building (the first start, or sources changed)')
if (force || previous.prisma !== inputs.prisma || !clientPresent) run(bin('prisma'), ['generate'])
// A clean output folder: files of deleted sources must not linger in dist/.
rmSync(path.join(root, 'dist'), { recursive: true, force: true })
run(bin('tsc'), ['-p', 'tsconfig.json'])
writeFileSync(stampFile, JSON.stringify(inputs))
console.log('guestgate build: done')
