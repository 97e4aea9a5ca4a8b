// One at a time per key, in this process: waiters queue on a promise instead of each holding a
// database connection while they wait for the same advisory lock.
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>()

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const done = new Promise<void>((resolve) => { release = resolve })
    const tail = previous.then(() => done)
    this.#tails.set(key, tail)
    await previous
    try {
      return await work()
    } finally {
      release()
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }

  /** Keys with work running or waiting. */
  get size(): number {
    return this.#tails.size
  }
}
