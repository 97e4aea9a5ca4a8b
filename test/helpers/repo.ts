// The repository's root, and files in it by their path from there: the same whether a test runs
// compiled (dist-test/, as `npm test` runs it) or from its source through tsx.
import path from 'node:path'
import { packageRoot } from '../../src/package-root.js'

export const REPO = packageRoot()

/** A file of the repository, e.g. repoFile('config/policy.sandbox.yaml'). */
export const repoFile = (relative: string): string => path.join(REPO, relative)
