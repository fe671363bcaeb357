/**
 * Memoizes a pure, costly function (PEM parsing costs more than the signature made with its
 * result). The cache holds at most `max` entries and is simply emptied when full: the
 * coordinator uses a handful of CA keys, so eviction order does not matter.
 */
export function boundedMemo<A, V>(fn: (arg: A) => V, keyOf: (arg: A) => string, max: number): (arg: A) => V {
  const cache = new Map<string, V>();
  return (arg) => {
    const key = keyOf(arg);
    let value = cache.get(key);
    if (value === undefined) {
      value = fn(arg);
      if (cache.size >= max) cache.clear();
      cache.set(key, value);
    }
    return value;
  };
}
