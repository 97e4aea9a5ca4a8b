// Holds the engine of the current policy file. A reload that fails keeps the running engine:
// a typo in the file must not switch authorization off (or to a half-read policy).
import { EventEmitter } from 'node:events'
import { createPolicyEngine, type AppPolicyEngine } from './policy-engine.js'
import type { PolicyEnv } from './define-rules.js'
import { loadPolicyFile, PolicyFileError, type PolicyDocument, type PolicyFileIssue } from './policy-file.js'

/** The part of a pino / Fastify logger the store uses. */
export interface PolicyStoreLogger {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface PolicyStoreOptions {
  path: string
  env: PolicyEnv
  logger: PolicyStoreLogger
}

export type ReloadResult =
  | { ok: true; version: string; previousVersion: string; changed: boolean }
  | { ok: false; version: string; errors: PolicyFileIssue[] }

export interface PolicyStoreEvents {
  /** Emitted after every reload attempt, successful or not. */
  reload: [result: ReloadResult]
}

export class PolicyStore extends EventEmitter<PolicyStoreEvents> {
  #engine: AppPolicyEngine | null = null
  #queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: PolicyStoreOptions) {
    super()
  }

  /** Initial load: throws PolicyFileError, so the service does not start on a bad file. */
  async load(): Promise<AppPolicyEngine> {
    const policy = await loadPolicyFile(this.options.path)
    this.#engine = createPolicyEngine(policy, this.options.env)
    this.options.logger.info({ policyVersion: policy.version, path: this.options.path }, 'policy loaded')
    return this.#engine
  }

  current(): AppPolicyEngine {
    if (!this.#engine) throw new Error('the policy is not loaded yet: call load() first')
    return this.#engine
  }

  /** Reads the file again; reloads run one after the other, so a burst of signals is harmless. */
  reload(): Promise<ReloadResult> {
    const next = this.#queue.then(() => this.#reloadNow())
    this.#queue = next.catch(() => undefined)
    return next
  }

  /** Reloads on the signal (SIGHUP by default); returns the function that stops listening. */
  watchSignal(signal: NodeJS.Signals = 'SIGHUP'): () => void {
    const onSignal = () => {
      this.reload().catch((err: unknown) => this.options.logger.error({ err, signal }, 'policy reload failed'))
    }
    process.on(signal, onSignal)
    return () => {
      process.off(signal, onSignal)
    }
  }

  async #reloadNow(): Promise<ReloadResult> {
    const previous = this.current()
    const { path, logger } = this.options
    let result: ReloadResult
    try {
      const policy = await loadPolicyFile(path)
      const changed = canonicalJson(policy) !== canonicalJson(previous.policy)
      if (changed && policy.version === previous.version) {
        // Audit rows name the policy by its version: one version must mean one policy.
        throw new PolicyFileError(path, [
          { path: '/version', message: `the policy changed but its version is still "${policy.version}"; give it a new version` },
        ])
      }
      if (changed) this.#engine = createPolicyEngine(policy, this.options.env)
      result = { ok: true, version: policy.version, previousVersion: previous.version, changed }
      logger.info({ policyVersion: policy.version, previousVersion: previous.version, changed, path }, 'policy reloaded')
    } catch (err) {
      if (!(err instanceof PolicyFileError)) throw err
      result = { ok: false, version: previous.version, errors: err.errors }
      logger.error(
        { path, policyVersion: previous.version, errors: err.errors.map((e) => `${e.path}: ${e.message}`) },
        `policy reload failed; keeping policy version ${previous.version}`,
      )
    }
    this.emit('reload', result)
    return result
  }
}

export function createPolicyStore(options: PolicyStoreOptions): PolicyStore {
  return new PolicyStore(options)
}

/** JSON with object keys sorted, so that reordering keys is not a change. */
function canonicalJson(doc: PolicyDocument): string {
  return JSON.stringify(doc, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  )
}
