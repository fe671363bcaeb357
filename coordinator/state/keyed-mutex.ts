/**
 * Serializes async work per key (a token id, a node name, a file) within this process. The
 * coordinator is the only writer of its state directory (see `state-lock.ts`), so an in-process
 * mutex is enough to make read-modify-write sequences atomic.
 */
export class KeyedMutex {
  private tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      // Drop the entry when nobody queued behind us, so the map does not grow per key forever.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
