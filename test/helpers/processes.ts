// Child processes of the real entry points (guestgate's server, the Graph simulator), started the
// way `npm start` and `npm run simulator` start them, with their output readable by the test.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Teardown } from '../helper.js'
import { REPO } from './repo.js'

export interface RunningProcess {
  child: ChildProcessWithoutNullStreams
  /** Everything it wrote so far, stdout and stderr. */
  readonly output: string
  /** Resolves with the first capture group of the first output line matching; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<string>
  /** SIGKILL: no chance to clean up. */
  kill9(): Promise<void>
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

// tsx (esbuild) loads TypeScript with about a third less CPU per process than ts-node, which
// matters when CI runs the suite twice on a busy 2-core machine. Type checking is tsc's job.
export const TYPESCRIPT_LOADER = ['--import', 'tsx'] as const

// By its path in the repository: this module also runs compiled, from dist-test/.
const { buildState } = await import(pathToFileURL(path.join(REPO, 'scripts', 'build-state.mjs')).href) as typeof import('../../scripts/build-state.mjs')
let built: boolean | undefined

/**
 * Node's arguments to run an entry point of src/ (e.g. 'src/server.ts'): its build in dist/ when
 * that is the build of the sources as they are (CI builds first), as `npm start` runs it, without
 * a loader (a loader costs a child about 3.5 CPU-seconds of the app's imports); else the source
 * through tsx.
 */
export function entryPoint(source: string): string[] {
  built ??= buildState().upToDate
  if (!built) return [...TYPESCRIPT_LOADER, path.join(REPO, source)]
  return [path.join(REPO, source.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'))]
}

export function startEntryPoint(t: Teardown, entry: string, env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, entryPoint(entry), {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const wake of waiters) wake()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  let exited = false
  child.once('exit', () => {
    exited = true
    for (const wake of waiters) wake()
  })
  t.teardown(() => { if (!exited) child.kill('SIGKILL') })

  return {
    child,
    get output() { return output },
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output)
          if (match) {
            waiters.delete(check)
            resolve(match[1] ?? match[0])
          } else if (exited) {
            waiters.delete(check)
            reject(new Error(`${entry} exited before printing ${pattern}:\n${output.slice(-4000)}`))
          }
        }
        waiters.add(check)
        check()
      })
    },
    async kill9() {
      if (exited) return
      const done = once(child, 'exit')
      child.kill('SIGKILL')
      await done
    },
    async stop(signal = 'SIGTERM') {
      if (exited) return child.exitCode
      const done = once(child, 'exit')
      child.kill(signal)
      const [code] = (await done) as [number | null, NodeJS.Signals | null]
      return code
    },
  }
}
