// Entra is eventually consistent: an object created a moment ago can be missing for the next
// requests (isNotYetReplicated). Calls that reference such an object are repeated with
// exponential backoff, a bounded number of times; nothing else is repeated here.
import { setTimeout as delay } from 'node:timers/promises'
import { isNotYetReplicated } from './graph-errors.js'

export interface ReplicationRetry {
  /** Repeats after the first call. */
  retries: number
  /** First wait; doubles each time. */
  baseDelayMs: number
}

export async function retryWhileNotReplicated<T>(settings: ReplicationRetry, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call()
    } catch (error) {
      if (attempt >= settings.retries || !isNotYetReplicated(error)) throw error
      await delay(settings.baseDelayMs * 2 ** attempt)
    }
  }
}
