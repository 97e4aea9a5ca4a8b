// Start-up benchmark (issue 11.1): time from launching the built server (`node dist/server.js`,
// what `npm start` runs once the build is up to date) to GET /readyz answering 200, in sandbox
// mode with a new data folder and with an existing one, while BENCH_BUSY (2) processes keep the
// cores busy. Run `npm run build` first. BENCH_RUNS (3) of each.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.env.BENCH_RUNS ?? 3)
const busy = Number(process.env.BENCH_BUSY ?? 2)

async function timeToReady(dataDir: string): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, [path.join(root, 'dist/server.js')], {
    env: { PATH: process.env.PATH, PORT: '0', GUESTGATE_DATA_DIR: dataDir, LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  // One exit listener for the whole wait (one per chunk of output piled up past Node's warning).
  const exited = once(child, 'exit').then(() => ['exit'])
  while (!/Server listening at (\S+?)"/.test(output)) {
    const [event] = await Promise.race([once(child.stdout, 'data'), exited])
    if (event === 'exit') throw new Error(`the server exited: ${output}`)
  }
  const url = /Server listening at (\S+?)"/.exec(output)![1]!
  while ((await fetch(`${url}/readyz`)).status !== 200) { /* ready once the database answers */ }
  const elapsed = performance.now() - started
  child.kill('SIGTERM')
  await exited
  return elapsed
}

// Busy loops on every core, as on a shared CI machine.
const spinners: ChildProcess[] = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }))
try {
  const fresh: number[] = []
  const existing: number[] = []
  for (let run = 0; run < runs; run++) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'guestgate-startup-'))
    fresh.push(await timeToReady(dataDir))
    existing.push(await timeToReady(dataDir))
    console.log(`run ${run + 1}: new data folder ${(fresh.at(-1)! / 1000).toFixed(1)} s, existing ${(existing.at(-1)! / 1000).toFixed(1)} s`)
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]! / 1000
  console.log(`\n${busy} busy processes; median start to ready: new data folder ${median(fresh).toFixed(1)} s (target 20 s), existing ${median(existing).toFixed(1)} s (target 3 s)`)
} finally {
  for (const spinner of spinners) spinner.kill('SIGKILL')
}
