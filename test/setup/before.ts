// tap's `before` script (package.json): the run's migrated template database (run-template.ts).
import { applyMigrations } from '../../src/db/migrate.js'
import { dropRunTemplate, makeRunTemplate } from './run-template.js'

await dropRunTemplate()
await makeRunTemplate(applyMigrations)
