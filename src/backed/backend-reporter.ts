import { PrefectliteError, errorMessage, isPrefectliteError } from "../core/errors.ts";
import type { LogRecord } from "../core/logging.ts";
import { isFinishedType, isRunningType, type SerializedState, type State, type StateType } from "../core/state.ts";
import { nextTurn } from "../core/event-loop.ts";
import { taskRunKeyString, type RunReporter, type TaskRunKey } from "../engine/ports.ts";
import type { Backend, LogRow, TaskRunRow } from "../client/backend.ts";

/** What the reporter asks of the backend (a backend without writeBatch gets each part written one after another). */
export type ReporterBackend = Pick<Backend, "readTaskRuns" | "readFlowRunState" | "setTaskRunStates" | "setFlowRunState" | "mappedChildren" | "writeLogs"> &
  Partial<Pick<Backend, "writeBatch">>;
import { writeStderr } from "../stdio.ts";
import { OutageWindow } from "./outage-window.ts";

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
  /**
   * How long a write is retried while the backend cannot be reached (a restarting server), in
   * ms. Default 300 s. Past it the reporter gives up: see `onLost`.
   */
  retryWindowMs?: number;
  /** Each log record, as it is logged (the runner prints them when asked to). */
  onLog?: (record: LogRecord) => void;
  /** Each flow-run state the backend accepted. */
  onFlowRunState?: (state: State) => void;
  /** Problems that do not stop the run (a refused write, a backend hiccup). */
  warn?: (message: string) => void;
  /**
   * The backend stayed unreachable past the retry window: nothing more is written, checkpoints
   * reject, and the run must stop (its unrecorded work is left to the backend's safeguards).
   */
  onLost?: (error: PrefectliteError) => void;
  /**
   * A write found the flow run Cancelling or Cancelled (a cancel arrived before the cancel watch
   * saw it): no task run may start from now on. Called at most once.
   */
  onCancelSeen?: () => void;
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
  /** This write's id, the same on every try: the backend makes it once. */
  writeId: string;
  /** The task runner's line saying the state was reached: stored (and printed) only with the state. */
  line?: StateLine;
}

interface StateLine {
  key: string;
  record: LogRecord;
  row: LogRow;
}

const DEFAULT_RETRY_WINDOW_MS = 300_000;

/**
 * The engine's RunReporter for a backed run. Task-run states and logs are queued and written by
 * group commit: the first write starts on the event loop's next turn, and whatever arrives while
 * a write is under way goes in the next one (states and logs in one transaction where the
 * backend can), with no timer. `checkpoint()` resolves once everything reported so far is
 * stored: the engine awaits it before a task's dependents start. Under version locking a
 * Running state is written at once and a refusal tells the engine to leave that task run alone.
 * Writes are serialized (one chain), so versions are assigned at write time from the last
 * confirmed ones; each carries an id of its own, so a write retried after a lost answer is
 * made once. While the backend cannot be reached writes are retried, with backoff, for
 * `retryWindowMs`; past it the reporter is lost (see `onLost`).
 */
export class BackendReporter implements RunReporter {
  private readonly runs = new Map<string, TrackedRun>();
  private flowRunVersion: number;
  private states: QueuedState[] = [];
  private logs: LogRow[] = [];
  private chain: Promise<void> = Promise.resolve();
  /** The group-commit loop, from when something was queued until the queue is empty again. */
  private draining: Promise<void> | undefined;
  private closed = false;
  private cancelSeen = false;
  private readonly batchSize: number;
  private readonly outage: OutageWindow;
  private readonly warn: (message: string) => void;

  constructor(
    private readonly api: ReporterBackend,
    private readonly options: BackendReporterOptions,
  ) {
    this.flowRunVersion = options.flowRunVersion;
    this.batchSize = options.batchSize ?? 1000;
    this.warn = options.warn ?? ((m) => writeStderr(`${m}\n`));
    // Lost: accept nothing more, and tell the runner to stop.
    this.outage = new OutageWindow(options.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS, this.warn, (error) => {
      this.closed = true;
      this.options.onLost?.(error);
    });
    for (const row of options.taskRuns) this.track(row);
  }

  /** The flow run's version after the last state this reporter wrote (or re-read). */
  get version(): number {
    return this.flowRunVersion;
  }

  /** Set once the backend stayed unreachable past the retry window. */
  get lost(): PrefectliteError | undefined {
    return this.outage.lost;
  }

  taskRunId(key: TaskRunKey): string | undefined {
    return this.runs.get(taskRunKeyString(key.slug, key.mapIndex))?.id;
  }

  async setFlowRunState(state: State): Promise<void> {
    if (this.outage.lost) throw this.outage.lost;
    if (this.closed) return;
    await this.serialized(() => this.writeFlowRunState(state));
  }

  /** Resolves once the state is queued (or, under version locking, a Running state written). */
  setTaskRunState(key: TaskRunKey, state: State): Promise<boolean> {
    return this.queueState(key, state);
  }

  /** As setTaskRunState; `line` is stored and printed with the state, and only if the state is stored. */
  setTaskRunStateWithLine(key: TaskRunKey, state: State, line: LogRecord): Promise<boolean> {
    return this.queueState(key, state, line);
  }

  private async queueState(key: TaskRunKey, state: State, record?: LogRecord): Promise<boolean> {
    const k = taskRunKeyString(key.slug, key.mapIndex);
    if (this.closed) {
      if (record) this.unrecorded(this.lineOf(k, record), state.type, "the run had already ended here");
      return false;
    }
    const run = this.runs.get(k) ?? (await this.lookup(key));
    if (!run) {
      this.warn(`Task run ${k} is not part of flow run ${this.options.flowRunId}: its state is not recorded`);
      if (record) this.options.onLog?.(record);
      return true;
    }
    const line = record && this.lineOf(k, record, run.id);
    if (run.held) {
      if (line) this.unrecorded(line, state.type, "another runner holds this task run");
      return false;
    }
    if (state.isMapped() && (state.nMapStates ?? 0) > 0) {
      // Children exist before any of them reports, and in one call however many there are.
      const children = await this.outage.call(() => this.api.mappedChildren(this.options.flowRunId, key.slug, state.nMapStates!));
      for (const child of children) if (!this.runs.has(taskRunKeyString(child.task_slug, child.map_index))) this.track(child);
    }
    if (this.options.versionLocking && state.type === "Running") {
      return this.serialized(() => this.claimRunning(run, state.toJSON()));
    }
    if (this.closed) {
      if (line) this.unrecorded(line, state.type, "the run had already ended here");
      return false;
    }
    this.states.push({ run, state: state.toJSON(), writeId: Bun.randomUUIDv7(), line });
    this.queued();
    return true;
  }

  private lineOf(key: string, record: LogRecord, taskRunId: string | null = null): StateLine {
    return { key, record, row: this.logRow(record, taskRunId) };
  }

  private logRow(record: LogRecord, taskRunId: string | null): LogRow {
    return {
      flow_run_id: this.options.flowRunId,
      task_run_id: taskRunId,
      timestamp: new Date(record.timestamp).toISOString(),
      name: record.name,
      level: record.level,
      message: record.message,
      write_id: Bun.randomUUIDv7(),
    };
  }

  /** The lines of states just stored: now they may be printed. */
  private recorded(queued: readonly QueuedState[]): void {
    if (!this.options.onLog) return;
    for (const q of queued) if (q.line) this.options.onLog(q.line.record);
  }

  /** A state with a line was not stored: store and print a line saying so instead. */
  private unrecorded(line: StateLine, type: StateType, why: string): void {
    const record: LogRecord = {
      ...line.record,
      level: "WARNING",
      message: `Task run ${line.key}: its state '${type}' was not recorded: ${why}`,
    };
    this.options.onLog?.(record);
    if (this.closed) return;
    this.logs.push(this.logRow(record, line.row.task_run_id));
    this.queued();
  }

  private sawCancel(state: StateType | undefined): void {
    if (this.cancelSeen || (state !== "Cancelling" && state !== "Cancelled")) return;
    this.cancelSeen = true;
    this.options.onCancelSeen?.();
  }

  log(record: LogRecord): void {
    this.options.onLog?.(record);
    if (this.closed) return;
    const taskRunId = record.taskRunKey === undefined ? null : (this.runs.get(record.taskRunKey)?.id ?? null);
    this.logs.push(this.logRow(record, taskRunId));
    this.queued();
  }

  /**
   * Undefined when nothing reported is waiting to be written; else a promise that resolves once
   * everything reported so far is stored, and rejects when the backend is lost.
   */
  checkpoint(): Promise<void> | undefined {
    if (this.outage.lost) return Promise.reject(this.outage.lost);
    const draining = this.draining;
    if (!draining) return undefined;
    return draining.then(() => {
      if (this.outage.lost) throw this.outage.lost;
    });
  }

  /** States are queued that no write has taken yet. */
  unsent(): boolean {
    return this.states.length > 0 && !this.closed;
  }

  /** Write out everything queued so far (in order, after any write under way). */
  async flush(): Promise<void> {
    await this.serialized(() => this.drain());
    if (this.outage.lost) throw this.outage.lost;
  }

  /** Flush, then accept nothing more (a run that was stopped must not write after it ended). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
    }
  }

  private track(row: TaskRunRow): TrackedRun {
    const run: TrackedRun = { id: row.id, version: row.version, state: row.state, held: false };
    this.runs.set(taskRunKeyString(row.task_slug, row.map_index), run);
    return run;
  }

  /** A task run the start-up read did not include: a mapped child created since (e.g. by another runner). */
  private async lookup(key: TaskRunKey): Promise<TrackedRun | undefined> {
    if (key.mapIndex < 0) return undefined;
    const children = await this.outage.call(() => this.api.mappedChildren(this.options.flowRunId, key.slug, key.mapIndex + 1));
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

  /** Something was queued: start the group-commit loop on the next turn, unless it is under way. */
  private queued(): void {
    if (this.draining) return;
    // The next turn, not a microtask: the work that is ready now (a fan-out's siblings, the
    // lines logged after a state) is queued first and joins the same write.
    this.draining = nextTurn().then(() => this.serialized(() => this.drain()));
  }

  /**
   * Write what is queued, a batch at a time, until nothing is; stops when the backend is lost.
   * `batches: false` writes states and logs in calls of their own (after a refused batch).
   */
  private async drain(batches = true): Promise<void> {
    while ((this.states.length || this.logs.length) && !this.outage.lost) {
      await this.writeQueued(this.states.splice(0, this.batchSize), this.logs.splice(0, this.batchSize), batches);
      // In-process a batch is written synchronously: between batches, let the event loop turn
      // (heartbeats, the cancel watch, the engine's next states join the next batch).
      if (this.states.length || this.logs.length) await nextTurn();
    }
    // The queue is empty (or lost) as of now: whatever is queued later starts a new loop.
    this.draining = undefined;
  }

  /** One batch of states and logs: one transaction where the backend takes batches. */
  private async writeQueued(states: QueuedState[], logs: LogRow[], batches = true): Promise<void> {
    const live = this.liveStates(states);
    const base = new Map<TrackedRun, number>();
    const items = live.map((q) => {
      if (!base.has(q.run)) base.set(q.run, q.run.version);
      return { taskRunId: q.run.id, version: q.run.version++, state: q.state, writeId: q.writeId };
    });
    // The lines of these states go in the same transaction as the states (where the backend can).
    const withLines = [...logs, ...linesOf(live)];
    const writeBatch = batches ? this.api.writeBatch?.bind(this.api) : undefined;
    try {
      if (writeBatch && items.length && withLines.length) {
        await this.outage.call(() => writeBatch({ taskRunStates: items, logs: withLines }));
      } else {
        if (items.length) await this.outage.call(() => this.api.setTaskRunStates(items));
        if (withLines.length) await this.writeLogs(withLines);
      }
      for (const q of live) q.run.state = q.state.type;
      this.recorded(live);
    } catch (e) {
      for (const [run, version] of base) run.version = version;
      if (this.outage.lost) return;
      if (!isRefusal(e)) {
        this.warn(`Could not record ${live.length} task run states: ${errorMessage(e)}`);
        for (const q of live) if (q.line) this.unrecorded(q.line, q.state.type, errorMessage(e));
        return;
      }
      // A refused state rolled the batch back: the logs go on their own, the states are sorted out.
      if (writeBatch && logs.length) await this.writeLogs(logs);
      await this.recover(live);
    }
  }

  /**
   * A batch was refused (someone else changed a task run, or the flow run left Running): re-read
   * the task runs, drop what is no longer ours or no longer allowed, and write the rest.
   */
  private async recover(batch: QueuedState[]): Promise<void> {
    const groups = new Map<TrackedRun, QueuedState[]>();
    for (const q of batch) groups.set(q.run, [...(groups.get(q.run) ?? []), q]);
    const [rows, flowRun] = await Promise.all([
      this.outage.call(() => this.api.readTaskRuns([...groups.keys()].map((r) => r.id))),
      this.outage.call(() => this.api.readFlowRunState(this.options.flowRunId)),
    ]);
    this.sawCancel(flowRun?.state);
    // The backend's rule (services/states.ts): Running while the flow run is Running, or while it
    // is Cancelling when Running is written behind the start (no version locking).
    const mayRun = flowRun?.state === "Running" || (flowRun?.state === "Cancelling" && !this.options.versionLocking);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const kept: Array<[TrackedRun, QueuedState[]]> = [];
    const dropped: Array<[QueuedState, string]> = [];
    for (const [run, queued] of groups) {
      const row = byId.get(run.id);
      if (!row) continue;
      if (row.version !== run.version) {
        // Another runner wrote this task run since we last did: it is theirs now.
        run.held = true;
        run.version = row.version;
        run.state = row.state;
        const why = isFinishedType(row.state) ? `the task run is already ${row.state}` : `another runner wrote this task run (it is ${row.state})`;
        for (const q of queued) dropped.push([q, why]);
        continue;
      }
      const allowed: QueuedState[] = [];
      for (const q of queued) {
        if (isFinishedType(row.state)) dropped.push([q, `the task run is already ${row.state}`]);
        else if (!mayRun && isRunningType(q.state.type)) dropped.push([q, `the flow run is ${flowRun?.state ?? "gone"}`]);
        else allowed.push(q);
      }
      if (allowed.length) kept.push([run, allowed]);
    }
    for (const [q, why] of dropped) if (q.line) this.unrecorded(q.line, q.state.type, why);
    const write = async (group: Array<[TrackedRun, QueuedState[]]>) => {
      const items = group.flatMap(([run, queued]) => queued.map((q, i) => ({ taskRunId: run.id, version: run.version + i, state: q.state, writeId: q.writeId })));
      if (!items.length) return;
      await this.outage.call(() => this.api.setTaskRunStates(items));
      for (const [run, queued] of group) {
        run.version += queued.length;
        run.state = queued[queued.length - 1]!.state.type;
      }
      const written = group.flatMap(([, queued]) => queued);
      const lines = linesOf(written);
      if (lines.length) await this.writeLogs(lines);
      this.recorded(written);
    };
    try {
      await write(kept);
    } catch {
      for (const entry of kept) {
        if (this.outage.lost) return;
        try {
          await write([entry]);
        } catch (e) {
          entry[0].held = true;
          this.warn(`Task run ${entry[0].id}: state not recorded: ${errorMessage(e)}`);
          for (const q of entry[1]) if (q.line) this.unrecorded(q.line, q.state.type, errorMessage(e));
        }
      }
    }
  }

  /** The queued states still to write; those of task runs another runner holds are dropped (their lines say so). */
  private liveStates(states: readonly QueuedState[]): QueuedState[] {
    const live: QueuedState[] = [];
    for (const q of states) {
      if (!q.run.held) live.push(q);
      else if (q.line) this.unrecorded(q.line, q.state.type, "another runner holds this task run");
    }
    return live;
  }

  /** Version locking: write Running now; false when another runner has (or had) the task run. */
  private async claimRunning(run: TrackedRun, state: SerializedState): Promise<boolean> {
    await this.drain();
    if (run.held) return false;
    try {
      const writeId = Bun.randomUUIDv7();
      const [version] = await this.outage.call(() => this.api.setTaskRunStates([{ taskRunId: run.id, version: run.version, state, writeId }]));
      run.version = version!;
      run.state = "Running";
      return true;
    } catch (e) {
      if (this.outage.lost) return false;
      if (!isRefusal(e)) throw e;
      const [[row], flowRun] = await Promise.all([
        this.outage.call(() => this.api.readTaskRuns([run.id])),
        this.outage.call(() => this.api.readFlowRunState(this.options.flowRunId)),
      ]);
      this.sawCancel(flowRun?.state);
      run.held = true;
      if (row) {
        run.version = row.version;
        run.state = row.state;
      }
      return false;
    }
  }

  private async writeFlowRunState(state: State): Promise<void> {
    if (await this.writeWithQueued(state)) return;
    if (state.isFinished()) await this.drain(false);
    if (this.outage.lost) throw this.outage.lost;
    const json = state.toJSON();
    const writeId = Bun.randomUUIDv7();
    try {
      this.flowRunVersion = await this.outage.call(() => this.api.setFlowRunState(this.options.flowRunId, this.flowRunVersion, json, writeId));
      this.options.onFlowRunState?.(state);
      return;
    } catch (e) {
      if (!isRefusal(e)) throw e;
    }
    // Someone else changed the flow run (a cancel, another runner): re-read and decide.
    const current = await this.outage.call(() => this.api.readFlowRunState(this.options.flowRunId));
    if (!current) throw new PrefectliteError("NotFound", `Flow run ${this.options.flowRunId} no longer exists`);
    this.flowRunVersion = current.version;
    this.sawCancel(current.state);
    if (isFinishedType(current.state)) return;
    if (current.state === "Cancelling" && !state.isFinished()) return;
    if (current.state === state.type && state.type === "Running") return;
    try {
      this.flowRunVersion = await this.outage.call(() => this.api.setFlowRunState(this.options.flowRunId, current.version, json, writeId));
      this.options.onFlowRunState?.(state);
    } catch (e) {
      if (!isRefusal(e)) throw e;
      this.warn(`Flow run ${this.options.flowRunId}: state ${state.type} not recorded: ${errorMessage(e)}`);
    }
  }

  /**
   * Where the backend can, what is queued (the last batch of states and logs before a final
   * state; the lines logged before Running) and the flow-run state go in one transaction: one
   * round trip, and nothing is left queued behind a write in flight when the tasks start (a
   * task computing synchronously would hold it up). False, with everything put back as it was,
   * when the backend cannot or says no: the caller then writes them one after another, which
   * sorts out refusals state by state.
   */
  private async writeWithQueued(state: State): Promise<boolean> {
    const writeBatch = this.api.writeBatch?.bind(this.api);
    if (!writeBatch) return false;
    while ((this.states.length > this.batchSize || this.logs.length > this.batchSize) && !this.outage.lost) {
      await this.writeQueued(this.states.splice(0, this.batchSize), this.logs.splice(0, this.batchSize));
    }
    if (this.outage.lost) throw this.outage.lost;
    const queued = this.states.splice(0);
    const logs = this.logs.splice(0);
    const live = queued.filter((q) => !q.run.held);
    const withLines = [...logs, ...linesOf(live)];
    const base = new Map<TrackedRun, number>();
    const items = live.map((q) => {
      if (!base.has(q.run)) base.set(q.run, q.run.version);
      return { taskRunId: q.run.id, version: q.run.version++, state: q.state, writeId: q.writeId };
    });
    const json = state.toJSON();
    const flowRunState = { id: this.options.flowRunId, version: this.flowRunVersion, state: json, writeId: Bun.randomUUIDv7() };
    let written: { flowRunVersion?: number };
    try {
      written = await this.outage.call(() => writeBatch({ taskRunStates: items, logs: withLines, flowRunState }));
    } catch (e) {
      for (const [run, version] of base) run.version = version;
      if (this.outage.lost) throw e;
      this.states.unshift(...queued);
      this.logs.unshift(...logs);
      return false;
    }
    // Written: nothing after this point may send the batch again.
    for (const q of live) q.run.state = q.state.type;
    this.recorded(live);
    for (const q of queued) if (q.run.held && q.line) this.unrecorded(q.line, q.state.type, "another runner holds this task run");
    this.flowRunVersion = written.flowRunVersion!;
    this.options.onFlowRunState?.(state);
    return true;
  }

  private async writeLogs(batch: LogRow[]): Promise<void> {
    try {
      await this.outage.call(() => this.api.writeLogs(batch));
    } catch (e) {
      if (!this.outage.lost) this.warn(`Could not record ${batch.length} log lines: ${errorMessage(e)}`);
    }
  }
}

const linesOf = (queued: readonly QueuedState[]): LogRow[] => queued.flatMap((q) => (q.line ? [q.line.row] : []));

/** The backend said no to a state write (stale version, or a transition it does not allow). */
function isRefusal(e: unknown): boolean {
  return isPrefectliteError(e) && (e.code === "VersionConflict" || e.code === "Conflict");
}
