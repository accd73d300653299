import type { Store } from "../storage/store.ts";

/** What every service is built from: the storage and the clock. */
export interface ServiceDeps {
  store: Store;
  now: () => Date;
}

export const isoNow = (deps: ServiceDeps) => deps.now().toISOString();
