import { AsyncLocalStorage } from "node:async_hooks";
import { PrefectliteError } from "./errors.ts";
import type { Logger } from "./logging.ts";

/** What a task sees of the run it belongs to (Prefect's `prefect.context`). */
export interface RunContext {
  readonly logger: Logger;
  readonly flowName: string;
  readonly flowRunId: string;
  readonly flowRunName: string;
  readonly flowId: string | undefined;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly taskRunId: string | undefined;
  readonly taskSlug: string | undefined;
  readonly taskName: string | undefined;
  /** -1 for an unmapped task run, 0…n-1 for a mapped child. */
  readonly mapIndex: number;
  /** The API URL a backed run reports to; undefined for a local or embedded run. */
  readonly apiUrl: string | undefined;
  /** Whether this run reports to a backend (`prefectlite run -p` does not). */
  readonly backed: boolean;
  /** Whether console output of this task goes to its logger (the task's `logStdout`). */
  readonly logStdout: boolean;
  /**
   * True once the run is being cancelled: a long computation may check it and stop early. It is
   * current even inside a synchronous loop (a backed run's heartbeat thread sets it).
   */
  readonly cancelled: boolean;
  /** Aborted once the run is being cancelled: pass it to `fetch` and the like to stop waiting. */
  readonly signal: AbortSignal;
}

const storage = new AsyncLocalStorage<RunContext>();

export function runInContext<T>(ctx: RunContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The context of the running task; outside a flow run this throws. */
export function context(): RunContext {
  const ctx = storage.getStore();
  if (!ctx) {
    throw new PrefectliteError(
      "Usage",
      "context() is only available inside a task while a flow run executes",
    );
  }
  return ctx;
}

/** The current run's logger (its records go to the run's log, and to the backend when there is one). */
export function getLogger(): Logger {
  return context().logger;
}

export function currentContext(): RunContext | undefined {
  return storage.getStore();
}
