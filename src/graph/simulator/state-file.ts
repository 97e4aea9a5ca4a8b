// The sandbox's directory on disk, so a restart keeps the guests that the audit log talks about.
// Read once at start; written after every request that may have changed something, atomically
// (a temporary file in the same folder, then a rename), one write at a time, and only when the
// content changed.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { DirectorySnapshot } from './state.js'

const ARRAYS = ['users', 'groups', 'servicePrincipals', 'appRoleAssignments', 'invitations', 'sentEmails'] as const

export class StateFileError extends Error {
  override readonly name = 'StateFileError'
}

/** The snapshot in `file`, undefined when there is no file yet; a file that is not one is an error, never ignored. */
export async function readStateFile(file: string): Promise<DirectorySnapshot | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new StateFileError(`${file} is not JSON: move it away to start from the seed`)
  }
  const snapshot = parsed as Partial<Record<string, unknown>>
  const missing = ARRAYS.filter((name) => !Array.isArray(snapshot?.[name]))
  if (typeof parsed !== 'object' || parsed === null || missing.length > 0 || typeof snapshot.memberships !== 'object') {
    throw new StateFileError(`${file} is not a Graph simulator state file (${missing.length > 0 ? `no ${missing.join(', ')}` : 'no memberships'}): move it away to start from the seed`)
  }
  const state = parsed as DirectorySnapshot
  return { ...state, sponsors: state.sponsors ?? {} }
}

export class StateFileWriter {
  private written: string | undefined
  private queue: Promise<void> = Promise.resolve()

  constructor(private readonly file: string) {}

  /** Remembers what the file holds already, so an unchanged directory is not written again. */
  loaded(snapshot: DirectorySnapshot): void {
    this.written = JSON.stringify(snapshot)
  }

  /** Writes the snapshot if it differs from the last one written; resolves when it is on disk. */
  save(snapshot: DirectorySnapshot): Promise<void> {
    const text = JSON.stringify(snapshot)
    const write = this.queue.then(async () => {
      if (text === this.written) return
      await mkdir(path.dirname(this.file), { recursive: true })
      const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
      try {
        await writeFile(temporary, text)
        await rename(temporary, this.file)
      } catch (error) {
        await rm(temporary, { force: true })
        throw error
      }
      this.written = text
    })
    // A failed write must not stop the ones after it.
    this.queue = write.catch(() => undefined)
    return write
  }
}
