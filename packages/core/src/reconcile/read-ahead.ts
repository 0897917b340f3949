/**
 * @module Paging helpers of the reconcile engine: fetch the provider's next page while the
 * current one is stored, and wait out a rate limit unless the run times out first.
 */

/**
 * The pages of `pages`, each next one asked for as soon as the previous one is handed out: the
 * provider's next page is fetched while the caller stores the current one. One page ahead at
 * most; a failure to fetch it (a rate limit, say) reaches the caller when it asks for that page,
 * after the current one is stored. Stops when `signal` aborts: a provider call that hangs past
 * the run's timeout must not hold the run (an adapter's client may not honour the signal), so
 * each wait for a page races the signal.
 */
export async function* readAhead<T>(pages: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]()
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
  aborted.catch(() => undefined)
  let next = iterator.next()
  try {
    for (;;) {
      const page = await Promise.race([next, aborted])
      if (page.done) return
      next = iterator.next()
      // Its failure is the caller's once it asks for that page; until then it is not unhandled.
      next.catch(() => undefined)
      yield page.value
    }
  } finally {
    // Not awaited: a generator stuck in a call cannot finish until that call does.
    void Promise.resolve(iterator.return?.()).catch(() => undefined)
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })
}
