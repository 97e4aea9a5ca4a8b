// `npm run build` and the step before `npm start`: generates the Prisma client and compiles
// TypeScript only when an input changed since the last build, so a second `npm start` starts
// at once. Inputs: src/ (without the generated client), the Prisma schema, the TypeScript and
// Prisma configuration, the lock file. `--force` builds anyway.
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { buildState, root, stampFile } from './build-state.mjs'

const { inputs, previous, clientPresent, upToDate } = buildState()
const force = process.argv.includes('--force')

if (!force && upToDate) {
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
