// The real server as a child process, started the way `npm start` starts it (its build, or
// src/server.ts through tsx when the build is not current: processes.ts's entryPoint), with only
// the environment a test gives.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import type { Teardown } from '../helper.js'
import { entryPoint } from './processes.js'
import { REPO } from './repo.js'

export { REPO }

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams
  /** Everything written to stdout and stderr so far. */
  output(): string
  /** Resolves with the first match of the pattern in the output (rejects if the process exits first). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>
  /** The base URL, once the sandbox banner or the "Server listening" line says it. */
  listening(): Promise<string>
  /** Exit code (or signal) once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export interface StartOptions {
  /** Extra node arguments before the entry point (e.g. another --import). */
  nodeArgs?: string[]
  cwd?: string
  /** Run this command instead of node (e.g. npm start). */
  command?: { file: string; args: string[] }
}

export function startServer(t: Teardown, env: Record<string, string>, options: StartOptions = {}): ServerProcess {
  const fullEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_FORMAT: 'json', ...env }
  const file = options.command?.file ?? process.execPath
  const args = options.command?.args ?? [...(options.nodeArgs ?? []), ...entryPoint('src/server.ts')]
  const child = spawn(file, args, { env: fullEnv, cwd: options.cwd ?? REPO, stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let text = ''
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    text += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  const waitFor = (pattern: RegExp) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(text)
      if (match) {
        listeners.delete(check)
        resolve(match)
      }
    }
    listeners.add(check)
    check()
    void exited.then(({ code, signal }) => {
      if (listeners.has(check)) reject(new Error(`the server exited (${code ?? signal}) before printing ${pattern}:\n${text}`))
    })
  })
  return {
    child,
    output: () => text,
    waitFor,
    listening: async () => (await waitFor(/Server listening at (http:\/\/[^\s"]+)/))[1]!,
    exited,
  }
}
