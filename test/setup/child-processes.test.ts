import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'

// A child of a test process starts as `npm start` starts it: without tap's processinfo module
// hook in its NODE_OPTIONS (test/setup/child-processes.ts; the hook cost each app-loading child
// about 0.7 CPU-seconds). Fails when that setup module is not loaded (package.json, "tap").
const nodeOptionsOfChild = async (env?: NodeJS.ProcessEnv) =>
  (await promisify(execFile)(process.execPath, ['-e', 'process.stdout.write(process.env.NODE_OPTIONS ?? "")'], { env })).stdout

t.test('a child that inherits the environment gets no module hook from tap', async (t) => {
  const options = await nodeOptionsOfChild()
  t.notMatch(options, /processinfo/, `the child's NODE_OPTIONS: ${JSON.stringify(options)}`)
})

t.test('a child given its own environment gets none either', async (t) => {
  const options = await nodeOptionsOfChild({ PATH: process.env.PATH ?? '' })
  t.notMatch(options, /processinfo/, `the child's NODE_OPTIONS: ${JSON.stringify(options)}`)
})
