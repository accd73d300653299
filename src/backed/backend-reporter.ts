import { PrefectliteError, errorMessage, isPrefectliteError } from "../core/errors.ts";
import type { LogRecord } from "../core/logging.ts";
import { isFinishedType, isRunningType, type SerializedState, type State, type StateType } from "../core/state.ts";
import { nextTurn } from "../core/event-loop.ts";
import { taskRunKeyString, type RunReporter, type TaskRunKey } from "../engine/ports.ts";
import type { LogRow, RunApi, TaskRunRow } from "../client/run-api.ts";
import { writeStderr } from "../stdio.ts";

export interface BackendReporterOptions {
  flowRunId: string;
  /** The flow run's version as last read. */
  flowRunVersion: number;
  /** The run's task runs as read at the start (ids, versions). */
  taskRuns: readonly TaskRunRow[];
  /** The flow group's version locking: a task run's Running state is then written at once and may be refused. */
  versionLocking: boolean;
  /** Writes per batch (states and logs alike). Default 1000. */
  batchSize?: number;
  /** Longest a write waits in the buffer. Default 200 ms. */
  flushMs?: number;
  /** Each log record, as it is logged (the runner prints them when asked to). */
  onLog?: (record: LogRecord) => void;
  /** Each flow-run state the backend accepted. */
  onFlowRunState?: (state: State) => void;
  /** Problems that do not stop the run (a refused write, a backend hiccup). */
  warn?: (message: string) => void;
}

interface TrackedRun {
  readonly id: string;
  /** The version the next write carries. */
  version: number;
  state: StateType;
  /** Another runner holds it (version locking, or a write of ours was overtaken): leave it alone. */
  held: boolean;
}

interface QueuedState {
  run: TrackedRun;
  state: SerializedState;
}

const ATTEMPTS_WHEN_UNAVAILABLE = 5;

/**
 * The engine's RunReporter for a backed run. Task-run states and logs are written behind, in
 * batches (on size, on a short timer, and on flush); under version locking a Running state is
 * written at once and a refusal tells the engine to leave that task run alone. Writes are
 * serialized (one chain), so versions are assigned at write time from the last confirmed ones.
 */
export class BackendReporter implements RunReporter {
  private readonly runs = new Map<string, TrackedRun>();
  private flowRunVersion: number;
  private states: QueuedState[] = [];
  private logs: LogRow[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly warn: (message: string) => void;

  constructor(
    private readonly api: RunApi,
    private readonly options: BackendReporterOptions,
  ) {
    this.flowRunVersion = options.flowRunVersion;
    this.batchSize = options.batchSize ?? 1000;
    this.flushMs = options.flushMs ?? 200;
    this.warn = options.warn ?? ((m) => writeStderr(`${m}\n`));
    for (const row of options.taskRuns) this.track(row);
  }

  /** The flow run's version after the last state this reporter wrote (or re-read). */
  get version(): number {
    return this.flowRunVersion;
  }

  taskRunId(key: TaskRunKey): string | undefined {
    return this.runs.get(taskRunKeyString(key.slug, key.mapIndex))?.id;
  }

  async setFlowRunState(state: State): Promise<void> {
    if (this.closed) return;
    await this.serialized(() => this.writeFlowRunState(state));
  }

  async setTaskRunState(key: TaskRunKey, state: State): Promise<boolean> {
    if (this.closed) return false;
    const k = taskRunKeyString(key.slug, key.mapIndex);
    const run = this.runs.get(k) ?? (await this.lookup(key));
    if (!run) {
      this.warn(`Task run ${k} is not part of flow run ${this.options.flowRunId}: its state is not recorded`);
      return true;
    }
    if (run.held) return false;
    if (state.isMapped() && (state.nMapStates ?? 0) > 0) {
      // Children exist before any of them reports, and in one call however many there are.
      const children = await this.retrying(() => this.api.mappedChildren(this.options.flowRunId, key.slug, state.nMapStates!));
      for (const child of children) if (!this.runs.has(taskRunKeyString(child.task_slug, child.map_index))) this.track(child);
    }
    if (this.options.versionLocking && state.type === "Running") {
      return this.serialized(() => this.claimRunning(run, state.toJSON()));
    }
    this.states.push({ run, state: state.toJSON() });
    this.scheduleFlush(this.states.length);
    return true;
  }

  log(record: LogRecord): void {
    this.options.onLog?.(record);
    if (this.closed) return;
    const taskRunId = record.taskRunKey === undefined ? null : (this.runs.get(record.taskRunKey)?.id ?? null);
    this.logs.push({
      flow_run_id: this.options.flowRunId,
      task_run_id: taskRunId,
      timestamp: new Date(record.timestamp).toISOString(),
      name: record.name,
      level: record.level,
      message: record.message,
    });
    this.scheduleFlush(this.logs.length);
  }

  /** Write out everything buffered so far (in order, after any write under way). */
  flush(): Promise<void> {
    return this.serialized(() => this.drain());
  }

  /** Flush, then accept nothing more (a run that was stopped must not write after it ended). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private track(row: TaskRunRow): TrackedRun {
    const run: TrackedRun = { id: row.id, version: row.version, state: row.state, held: false };
    this.runs.set(taskRunKeyString(row.task_slug, row.map_index), run);
    return run;
  }

  /** A task run the start-up read did not include: a mapped child created since (e.g. by another runner). */
  private async lookup(key: TaskRunKey): Promise<TrackedRun | undefined> {
    if (key.mapIndex < 0) return undefined;
    const children = await this.retrying(() => this.api.mappedChildren(this.options.flowRunId, key.slug, key.mapIndex + 1));
    for (const child of children) if (!this.runs.has(taskRunKeyString(child.task_slug, child.map_index))) this.track(child);
    return this.runs.get(taskRunKeyString(key.slug, key.mapIndex));
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work);
    this.chain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private scheduleFlush(buffered: number): void {
    if (buffered >= this.batchSize) {
      void this.flush();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async drain(): Promise<void> {
    while (this.states.length || this.logs.length) {
      if (this.states.length) await this.writeStates(this.states.splice(0, this.batchSize));
      if (this.logs.length) await this.writeLogs(this.logs.splice(0, this.batchSize));
      // In-process a batch is written synchronously: between batches, let the event loop turn
      // (heartbeats, the cancel watch) rather than draining thousands of states in one go.
      if (this.states.length || this.logs.length) await nextTurn();
    }
  }

  private async writeStates(batch: QueuedState[]): Promise<void> {
    const live = batch.filter((q) => !q.run.held);
    if (!live.length) return;
    const base = new Map<TrackedRun, number>();
    const items = live.map((q) => {
      if (!base.has(q.run)) base.set(q.run, q.run.version);
      return { taskRunId: q.run.id, version: q.run.version++, state: q.state };
    });
    try {
      await this.retrying(() => this.api.setTaskRunStates(items));
      for (const q of live) q.run.state = q.state.type;
    } catch (e) {
      for (const [run, version] of base) run.version = version;
      if (!isRefusal(e)) {
        this.warn(`Could not record ${live.length} task run states: ${errorMessage(e)}`);
        return;
      }
      await this.recover(live);
    }
  }

  /**
   * A batch was refused (someone else changed a task run, or the flow run left Running): re-read
   * the task runs, drop what is no longer ours or no longer allowed, and write the rest.
   */
  private async recover(batch: QueuedState[]): Promise<void> {
    const groups = new Map<TrackedRun, SerializedState[]>();
    for (const q of batch) groups.set(q.run, [...(groups.get(q.run) ?? []), q.state]);
    const [rows, flowRun] = await Promise.all([
      this.retrying(() => this.api.readTaskRuns([...groups.keys()].map((r) => r.id))),
      this.retrying(() => this.api.readFlowRunState(this.options.flowRunId)),
    ]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const kept: Array<[TrackedRun, SerializedState[]]> = [];
    for (const [run, states] of groups) {
      const row = byId.get(run.id);
      if (!row) continue;
      if (row.version !== run.version) {
        // Another runner wrote this task run since we last did: it is theirs now.
        run.held = true;
        run.version = row.version;
        run.state = row.state;
        continue;
      }
      const allowed = states.filter((s) => !isFinishedType(row.state) && (flowRun?.state === "Running" || !isRunningType(s.type)));
      if (allowed.length) kept.push([run, allowed]);
    }
    const write = async (group: Array<[TrackedRun, SerializedState[]]>) => {
      const items = group.flatMap(([run, states]) => states.map((state, i) => ({ taskRunId: run.id, version: run.version + i, state })));
      if (!items.length) return;
      await this.retrying(() => this.api.setTaskRunStates(items));
      for (const [run, states] of group) {
        run.version += states.length;
        run.state = states[states.length - 1]!.type;
      }
    };
    try {
      await write(kept);
    } catch {
      for (const entry of kept) {
        try {
          await write([entry]);
        } catch (e) {
          entry[0].held = true;
          this.warn(`Task run ${entry[0].id}: state not recorded: ${errorMessage(e)}`);
        }
      }
    }
  }

  /** Version locking: write Running now; false when another runner has (or had) the task run. */
  private async claimRunning(run: TrackedRun, state: SerializedState): Promise<boolean> {
    await this.drain();
    if (run.held) return false;
    try {
      const [version] = await this.retrying(() => this.api.setTaskRunStates([{ taskRunId: run.id, version: run.version, state }]));
      run.version = version!;
      run.state = "Running";
      return true;
    } catch (e) {
      if (!isRefusal(e)) throw e;
      const [row] = await this.retrying(() => this.api.readTaskRuns([run.id]));
      run.held = true;
      if (row) {
        run.version = row.version;
        run.state = row.state;
      }
      return false;
    }
  }

  private async writeFlowRunState(state: State): Promise<void> {
    if (state.isFinished()) {
      if (await this.finishInOneBatch(state)) return;
      await this.drain();
    }
    const json = state.toJSON();
    try {
      this.flowRunVersion = await this.retrying(() => this.api.setFlowRunState(this.options.flowRunId, this.flowRunVersion, json));
      this.options.onFlowRunState?.(state);
      return;
    } catch (e) {
      if (!isRefusal(e)) throw e;
    }
    // Someone else changed the flow run (a cancel, another runner): re-read and decide.
    const current = await this.retrying(() => this.api.readFlowRunState(this.options.flowRunId));
    if (!current) throw new PrefectliteError("NotFound", `Flow run ${this.options.flowRunId} no longer exists`);
    this.flowRunVersion = current.version;
    if (isFinishedType(current.state)) return;
    if (current.state === "Cancelling" && !state.isFinished()) return;
    if (current.state === state.type && state.type === "Running") return;
    try {
      this.flowRunVersion = await this.retrying(() => this.api.setFlowRunState(this.options.flowRunId, current.version, json));
      this.options.onFlowRunState?.(state);
    } catch (e) {
      if (!isRefusal(e)) throw e;
      this.warn(`Flow run ${this.options.flowRunId}: state ${state.type} not recorded: ${errorMessage(e)}`);
    }
  }

  /**
   * Where the backend can (the embedded database), the last batch of states and logs and the
   * final flow-run state go in one transaction. False, with everything put back as it was,
   * when the backend cannot or says no: the caller then writes them one after another, which
   * sorts out refusals state by state.
   */
  private async finishInOneBatch(state: State): Promise<boolean> {
    const writeBatch = this.api.writeBatch?.bind(this.api);
    if (!writeBatch) return false;
    while (this.states.length > this.batchSize) await this.writeStates(this.states.splice(0, this.batchSize));
    while (this.logs.length > this.batchSize) await this.writeLogs(this.logs.splice(0, this.batchSize));
    const queued = this.states.splice(0);
    const logs = this.logs.splice(0);
    const live = queued.filter((q) => !q.run.held);
    const base = new Map<TrackedRun, number>();
    const items = live.map((q) => {
      if (!base.has(q.run)) base.set(q.run, q.run.version);
      return { taskRunId: q.run.id, version: q.run.version++, state: q.state };
    });
    const json = state.toJSON();
    let written: { flowRunVersion: number };
    try {
      written = await this.retrying(() => writeBatch({ taskRunStates: items, logs, flowRunState: { id: this.options.flowRunId, version: this.flowRunVersion, state: json } }));
    } catch {
      for (const [run, version] of base) run.version = version;
      this.states.unshift(...queued);
      this.logs.unshift(...logs);
      return false;
    }
    // Written: nothing after this point may send the batch again.
    for (const q of live) q.run.state = q.state.type;
    this.flowRunVersion = written.flowRunVersion;
    this.options.onFlowRunState?.(state);
    return true;
  }

  private async writeLogs(batch: LogRow[]): Promise<void> {
    try {
      await this.retrying(() => this.api.writeLogs(batch));
    } catch (e) {
      this.warn(`Could not record ${batch.length} log lines: ${errorMessage(e)}`);
    }
  }

  /** Retry only when the backend could not be reached (a restarting server), with a short backoff. */
  private async retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!isPrefectliteError(e) || e.code !== "Unavailable" || attempt >= ATTEMPTS_WHEN_UNAVAILABLE) throw e;
        await Bun.sleep(100 * 2 ** attempt);
      }
    }
  }
}

/** The backend said no to a state write (stale version, or a transition it does not allow). */
function isRefusal(e: unknown): boolean {
  return isPrefectliteError(e) && (e.code === "VersionConflict" || e.code === "Conflict");
}
