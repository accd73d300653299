import type { Store } from "../storage/store.ts";

/** What every service is built from: the storage and the clock. */
export interface ServiceDeps {
  store: Store;
  now: () => Date;
  /** How many upcoming runs the scheduler keeps per active schedule (PREFECTLITE_SCHEDULER_MAX_RUNS). */
  maxScheduledRuns: number;
}

export const isoNow = (deps: ServiceDeps) => deps.now().toISOString();
