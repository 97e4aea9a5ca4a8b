// An exclusive lock file holding the owner's pid. PGlite takes no lock on its data folder and
// the sandbox's files must not have two writers; `npm run sandbox:reset` reads the owner to
// refuse while a server runs. A lock left by a dead process is taken over.
import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'

export class FolderInUseError extends Error {
  override readonly name = 'FolderInUseError'
  constructor(readonly folder: string, readonly owner: number, readonly lockPath: string) {
    super(`${folder} is in use by process ${owner} (lock file ${lockPath})`)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The live process holding this lock, or null when none does. */
export async function lockOwner(folder: string, lockName: string): Promise<number | null> {
  const owner = Number.parseInt(await readFile(join(folder, lockName), 'utf8').catch(() => ''), 10)
  return Number.isInteger(owner) && owner > 0 && isAlive(owner) ? owner : null
}

/** Takes the lock (the folder must exist); returns the function that releases it. */
export async function lockFolder(folder: string, lockName: string): Promise<() => Promise<void>> {
  const lockPath = join(folder, lockName)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return () => rm(lockPath, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = await lockOwner(folder, lockName)
    if (owner !== null) throw new FolderInUseError(folder, owner, lockPath)
    // Stale (owner dead, or the file was left half-written): remove it and try once more.
    await rm(lockPath, { force: true })
  }
  throw new Error(`could not lock ${folder} (lock file ${lockPath})`)
}
