// Loaded into every test process after tap's own hooks (package.json, "tap"."node-arg"). tap's
// processinfo gives every child process a test starts its module hook, so that coverage follows
// into children: through the test process's own NODE_OPTIONS, which children inherit, and through
// a process-on-spawn listener that writes it into any environment a spawn passes. This suite runs
// with coverage off, and the hook made each child that loads the app (the server, the simulator,
// the CLIs) slower by about 0.7 CPU-seconds: every ES module crossed to the hook's thread.
// Children now start as `npm start` starts them. (The test process keeps its own hook: it was
// loaded before this module.)
import processOnSpawn from 'process-on-spawn'

processOnSpawn.removeAllListeners()
const options = process.env.NODE_OPTIONS
if (options !== undefined) {
  // processinfo's option is a file URL (no spaces): `--import=file:///…/@tapjs/processinfo/…`
  const kept = options.split(/\s+/).filter((option) => !/@tapjs[/\\]processinfo[/\\]/.test(option)).join(' ').trim()
  if (kept === '') delete process.env.NODE_OPTIONS
  else process.env.NODE_OPTIONS = kept
}
