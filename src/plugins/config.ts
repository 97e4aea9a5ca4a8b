import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AppConfig } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig
  }
}

export default fp(async function config(app: FastifyInstance, opts: { config: AppConfig }) {
  app.decorate('config', opts.config)
}, { name: 'config' })
