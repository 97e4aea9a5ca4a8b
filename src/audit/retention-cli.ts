// Operators' retention command: archive and prune audit rows older than N days, keeping the
// remaining chain verifiable (docs/audit-retention.md). Run it with the table owner's URL:
//   DATABASE_URL=postgresql://owner@host/db node dist/audit/retention-cli.js --older-than-days 400 --archive /backups/audit-2026.ndjson
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { createPrismaClient } from '../db/prisma-client.js'
import { archiveAndPrune, type ArchiveAndPruneResult } from './retention.js'

export const USAGE = 'usage: retention-cli --older-than-days N --archive FILE   (DATABASE_URL: the audit table owner)'

export async function runRetention(argv: string[], env: Record<string, string | undefined>): Promise<ArchiveAndPruneResult> {
  const { values } = parseArgs({ args: argv, options: { 'older-than-days': { type: 'string' }, archive: { type: 'string' } }, strict: true })
  const days = Number(values['older-than-days'])
  if (!values.archive || !Number.isInteger(days) || days < 0) throw new Error(USAGE)
  if (!env.DATABASE_URL) throw new Error(`DATABASE_URL is not set. ${USAGE}`)
  const prisma = createPrismaClient(env.DATABASE_URL, { maxConnections: 2 })
  try {
    return await archiveAndPrune(prisma, { olderThanDays: days, archivePath: values.archive })
  } finally {
    await prisma.$disconnect()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runRetention(process.argv.slice(2), process.env).then(
    (result) => console.log(JSON.stringify(result)),
    (error: Error) => {
      console.error(error.message)
      process.exit(1)
    },
  )
}
