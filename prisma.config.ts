import { defineConfig } from 'prisma/config'
import { PrismaPg } from '@prisma/adapter-pg'

// `prisma generate` needs a syntactically valid URL even though it never connects; without one
// the CLI reports a misleading engine-download error.
process.env.DATABASE_URL ??= 'postgresql://placeholder:placeholder@127.0.0.1:1/placeholder'

// @prisma/adapter-pg splits a migration script on every `;`, which breaks function bodies
// (`$$ ... ; ... $$`) and runs statements one by one. Sending the script as one simple-protocol
// query keeps dollar quotes intact and makes each migration one implicit transaction.
class WholeScriptPrismaPg extends PrismaPg {
  override async connect() {
    const adapter = await super.connect()
    adapter.executeScript = async (script: string) => {
      await adapter.underlyingDriver().query(script)
    }
    return adapter
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  async adapter () {
    return new WholeScriptPrismaPg({ connectionString: process.env.DATABASE_URL })
  },
})
