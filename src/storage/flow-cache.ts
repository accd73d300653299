// What both stores' flow repositories cache: the parts of a flow version that can never change
// (a version is immutable once registered, and ids are never reused).

/** Freeze a parsed value all the way down, so a cached record shared between callers cannot be changed by one. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * A small map that forgets everything when it grows past `max` (the working set of flows that
 * runs are created for is small; a miss costs one read).
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, value);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}
