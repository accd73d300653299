/**
 * A repository of store.ts as SQLite implements it: the same methods, returning their results
 * directly (bun:sqlite statements are synchronous); sqlite/store.ts wraps them in promises.
 */
export type Synchronous<R> = {
  [K in keyof R]: R[K] extends (...args: infer A) => Promise<infer X> ? (...args: A) => X : R[K];
};
