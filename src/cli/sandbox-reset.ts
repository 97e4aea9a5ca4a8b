// `npm run sandbox:reset`: start the sandbox over. Removes the sandbox data folder (embedded
// database, simulated directory), refusing while a server holds it, and refusing any folder
// that does not look like one (GUESTGATE_DATA_DIR may point anywhere).
import { existsSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import path from 'node:path'
import { ConfigSchema } from '../config.js'
import { lockOwner } from '../db/folder-lock.js'
import { EMBEDDED_LOCK_FILE } from '../db/embedded-postgres-thread.js'
import { SANDBOX_LOCK_FILE } from '../startup/sandbox-folder.js'

/** What a sandbox folder holds (the simulator's state file writes through `<name>.<pid>.<random>.tmp`);
 *  anything else in it means it is not one. */
const isSandboxEntry = (entry: string) =>
  entry === 'pglite' || entry === SANDBOX_LOCK_FILE || /^graph-simulator\.json(\.\d+\.[0-9a-f]+\.tmp)?$/.test(entry)

export async function resetSandbox(dataDirSetting: string | undefined, cwd = process.cwd()): Promise<string> {
  const dataDir = path.resolve(cwd, dataDirSetting || String(ConfigSchema.properties.GUESTGATE_DATA_DIR.default))
  if (!existsSync(dataDir)) return `nothing to reset: ${dataDir} does not exist`
  if ([path.parse(dataDir).root, homedir(), cwd].includes(dataDir)) {
    throw new Error(`GUESTGATE_DATA_DIR: refusing to remove ${dataDir}: point it at the sandbox's own folder`)
  }
  for (const [folder, lock] of [[dataDir, SANDBOX_LOCK_FILE], [path.join(dataDir, 'pglite'), EMBEDDED_LOCK_FILE]] as const) {
    const owner = await lockOwner(folder, lock)
    if (owner !== null) throw new Error(`GUESTGATE_DATA_DIR: ${dataDir} is in use by a running guestgate (process ${owner}): stop it first`)
  }
  const foreign = (await readdir(dataDir)).filter((entry) => !isSandboxEntry(entry))
  if (foreign.length > 0) {
    throw new Error(`GUESTGATE_DATA_DIR: ${dataDir} does not look like a sandbox folder (it holds ${foreign.slice(0, 3).join(', ')}): not removed`)
  }
  await rm(dataDir, { recursive: true, force: true })
  return `sandbox reset: removed ${dataDir}; the next start seeds a new directory and audit log`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  resetSandbox(process.env.GUESTGATE_DATA_DIR).then(
    (message) => console.log(message),
    (error: Error) => {
      console.error(`guestgate: ${error.message}`)
      process.exit(1)
    },
  )
}
