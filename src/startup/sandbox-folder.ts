// The sandbox data folder: one server at a time (`npm run sandbox:reset` refuses while one
// holds this lock).
import { mkdir } from 'node:fs/promises'
import type { AppConfig } from '../config.js'
import { FolderInUseError, lockFolder } from '../db/folder-lock.js'
import { StartupError } from './startup-error.js'

export const SANDBOX_LOCK_FILE = 'guestgate.lock'

export async function lockSandboxFolder(config: Pick<AppConfig, 'dataDir'>): Promise<() => Promise<void>> {
  try {
    await mkdir(config.dataDir, { recursive: true })
    return await lockFolder(config.dataDir, SANDBOX_LOCK_FILE)
  } catch (error) {
    if (error instanceof FolderInUseError) {
      throw new StartupError('GUESTGATE_DATA_DIR', `${config.dataDir} is used by another guestgate (process ${error.owner}): ` +
        'stop it, or set GUESTGATE_DATA_DIR to another folder', { cause: error })
    }
    throw new StartupError('GUESTGATE_DATA_DIR', `cannot use ${config.dataDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ` +
      'make it writable, or set GUESTGATE_DATA_DIR to a writable folder', { cause: error })
  }
}
