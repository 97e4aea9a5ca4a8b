// Starts the Graph simulator as its own process (src/graph/simulator/server.ts), the way
// `npm run simulator` does, and waits for the line that says where it listens.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { once } from 'node:events'
import type { Readable } from 'node:stream'
import type { Teardown } from '../helper.js'
import { entryPoint } from './processes.js'

export interface SimulatorProcess {
  /** http://127.0.0.1:PORT */
  origin: string
  /** origin + /v1.0: what GRAPH_BASE_URL gets. */
  baseUrl: string
  child: ChildProcessByStdio<null, Readable, Readable>
  /** Everything the process printed so far. */
  output(): string
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>
}

export async function startSimulatorProcess(t: Teardown, env: Record<string, string> = {}): Promise<SimulatorProcess> {
  const child = spawn(process.execPath, entryPoint('src/graph/simulator/server.ts'), {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let exited = false
  child.once('exit', () => { exited = true })
  t.teardown(() => { if (!exited) child.kill('SIGKILL') })
  const origin = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Graph simulator listening on (http:\/\/[^\s/]+)\/v1\.0/.exec(output)
      if (match) resolve(match[1] as string)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`the simulator exited with ${code}: ${output}`)))
  })
  return {
    origin,
    baseUrl: `${origin}/v1.0`,
    child,
    output: () => output,
    async stop() {
      if (exited) return child.exitCode
      const done = once(child, 'exit')
      child.kill('SIGTERM')
      const [code] = (await done) as [number | null]
      return code
    },
  }
}
