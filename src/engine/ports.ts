import type { LogRecord } from "../core/logging.ts";
import type { ResultLocation, State } from "../core/state.ts";
import type { LocalResult } from "../core/results.ts";

/** Identifies one task run inside a flow run: the task's slug and its map index (-1 unmapped). */
export interface TaskRunKey {
  readonly slug: string;
  readonly mapIndex: number;
}

export const taskRunKeyString = (slug: string, mapIndex: number) => (mapIndex < 0 ? slug : `${slug}[${mapIndex}]`);

/**
 * How the engine tells the world what happens. A local run uses an in-memory reporter; a backed
 * run one that writes (batched, with checkpoints) to the backend. Methods may be sync or async.
 */
export interface RunReporter {
  setFlowRunState(state: State): void | Promise<void>;
  /**
   * Record a task run state. Returning false means the backend refused it (another runner
   * already holds the task run, under version locking): the runner then leaves that task run alone.
   */
  setTaskRunState(key: TaskRunKey, state: State): void | boolean | Promise<void | boolean>;
  log(record: LogRecord): void;
  /**
   * Like setTaskRunState, with the task runner's line saying the task run reached `state`: a
   * reporter that may yet see the state refused records the line only with the state (and, when
   * it is refused, a line saying so instead), so the log never tells of a state that is not
   * stored. Without this method the line goes to `log` once the state is accepted.
   */
  setTaskRunStateWithLine?(key: TaskRunKey, state: State, line: LogRecord): boolean | Promise<boolean>;
  /** The task run id of a key, if the backend assigned one (for the task's context). */
  taskRunId?(key: TaskRunKey): string | undefined;
  /** Write out anything buffered. */
  flush?(): Promise<void>;
  /**
   * A checkpoint: undefined when everything reported so far is stored, else a promise that
   * resolves once it is (and rejects when it never will be: the run must then stop). The runner
   * awaits it before a task whose upstream tasks finished starts, so a finished task's state and
   * its log lines are stored before any work that depends on it begins.
   */
  checkpoint?(): Promise<void> | undefined;
  /**
   * True while states reported are waiting to be sent (a reporter that writes on the event loop's
   * next turn): the task runner then lets the loop turn before a task's function runs, so that
   * its Running state is on its way even if the function then computes for minutes.
   */
  unsent?(): boolean;
}

export interface ResultWriteContext {
  flowName: string;
  flowRunId: string;
  flowRunName: string;
  taskName: string;
  taskSlug: string;
  taskRunId: string;
  mapIndex: number;
  parameters: Record<string, unknown>;
}

/**
 * How a reader learns a result's own folder (core/result-folder.ts): the `dir` its task's (else
 * its flow's) LocalResult names, or null for the default. Asked only when the location is not
 * inside the reader's own default results folder.
 */
export interface ResultReadOptions {
  configuredDir?: () => string | null | undefined | Promise<string | null | undefined>;
}

/** Persists task results and reads them back from their recorded location. */
export interface ResultStore {
  write(value: unknown, config: LocalResult, ctx: ResultWriteContext): Promise<ResultLocation>;
  /** Reads only inside the result's own folder (or this store's default one): else a Validation error. */
  read(location: ResultLocation, options?: ResultReadOptions): Promise<unknown>;
}

/** Time for the engine: injectable so tests need not wait. */
export interface EngineClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
