// Starts the service: validate configuration, build the app, listen. Nothing else lives here.
import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, describeConfig, loadConfig } from './config.js'
import { serverOptions } from './server-options.js'

let config
try {
  config = loadConfig(process.env)
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message)
    process.exit(1)
  }
  throw error
}

const app = Fastify(serverOptions(config))
await app.register(buildApp, { config, reloadPolicyOnSighup: true })

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})

const address = await app.listen({ host: config.host, port: config.port })
app.log.info(describeConfig(config), 'guestgate started')
if (config.mode === 'sandbox') {
  const banner = [
    '',
    '  guestgate is running in SANDBOX MODE',
    '  - Graph: the embedded simulator (no real tenant is touched)',
    `  - Database: ${config.databaseUrl ? 'DATABASE_URL' : `embedded Postgres under ${config.dataDir}`}`,
    `  - Tokens: POST ${address}/v1/sandbox/tokens {"roles":["Guests.Invite"]}`,
    `  - Docs: ${address}/docs`,
    '',
  ].join('\n')
  console.log(banner)
}
