// tap's `after` script (package.json): drops the run's template database (run-template.ts).
import { dropRunTemplate } from './run-template.js'

await dropRunTemplate()
