import type { RunContext } from "../core/context.ts";
import { createLogger, LOG_LEVELS, type Logger, type LogLevel, type LogRecord } from "../core/logging.ts";
import type { Result } from "../core/results.ts";
import { Cancelled, type State } from "../core/state.ts";
import type { TaskDefinition } from "../core/task.ts";
import {
  taskRunKeyString,
  type EngineClock,
  type ResultStore,
  type ResultWriteContext,
  type RunReporter,
  type TaskRunKey,
} from "./ports.ts";
import { outcomeOf, type Outcome } from "./task-runner.ts";

export interface RunIdentity {
  flowName: string;
  flowRunId: string;
  flowRunName: string;
  flowId: string | undefined;
  apiUrl: string | undefined;
  backed: boolean;
}

/** Everything a task run needs from the flow run it belongs to: one per flow run. */
export class RunEnvironment {
  readonly flowLogger: Logger;

  constructor(
    readonly identity: RunIdentity,
    readonly parameters: Readonly<Record<string, unknown>>,
    readonly reporter: RunReporter,
    readonly results: ResultStore,
    readonly clock: EngineClock,
    readonly logLevel: LogLevel,
    readonly flowResult: Result | undefined,
    /** Persist every task's result (a backed run must, so views and resumes can read them). */
    readonly checkpoint: boolean,
    private readonly priorStates: ReadonlyMap<string, State>,
    readonly signal: AbortSignal | undefined,
    private readonly cancelRequested: (() => boolean) | undefined,
    /** See FlowRunOptions.prefectResultBytes. */
    readonly prefectResultBytes: number = 0,
  ) {
    this.flowLogger = createLogger({
      name: "prefectlite.FlowRunner",
      minLevel: logLevel,
      sink: (r) => reporter.log(r),
      now: clock.now,
    });
  }

  /**
   * A line of the task runner's own ("Starting task run...", its final state), attributed to the
   * task run as Prefect's TaskRunner does, so the backend files it under that task run's id.
   */
  taskRunnerLog(key: TaskRunKey, level: LogLevel, message: string): void {
    if (LOG_LEVELS[level] < LOG_LEVELS[this.logLevel]) return;
    this.reporter.log(this.taskRunnerRecord(key, level, message));
  }

  private taskRunnerRecord(key: TaskRunKey, level: LogLevel, message: string): LogRecord {
    return { timestamp: this.clock.now(), level, name: "prefectlite.TaskRunner", message, taskRunKey: taskRunKeyString(key.slug, key.mapIndex) };
  }

  prior(key: TaskRunKey): State | undefined {
    if (this.priorStates.size === 0) return undefined; // a fresh run: skip building the key
    return this.priorStates.get(taskRunKeyString(key.slug, key.mapIndex));
  }

  /** A task run finished in an earlier attempt: keep its state; its value is read when needed. */
  resumed(prior: State, definition: TaskDefinition): Outcome {
    return { ...outcomeOf(prior, undefined, false), resultDir: (definition.result ?? this.flowResult)?.dir ?? null };
  }

  /**
   * True once the run is being cancelled (its signal aborted, or the cancel flag another thread
   * sets): checked synchronously before a task run starts, so none starts after.
   */
  stopping(): boolean {
    return this.signal?.aborted === true || this.cancelRequested?.() === true;
  }

  /** A task run that is not started (or not run again): Cancelled, with a line saying why. */
  async cancelled(key: TaskRunKey, label: string, why: string): Promise<Outcome> {
    const state = new Cancelled(`Flow run is cancelled: ${why}.`);
    await this.reportFinal(key, state, `Task '${label}': Cancelled: ${why}`);
    return outcomeOf(state, undefined, false);
  }

  /**
   * Record a state; false when the backend refused it (another runner holds the task run).
   * Synchronous when the reporter is, so a local run spends no event-loop turn per state.
   */
  report(key: TaskRunKey, state: State): boolean | Promise<boolean> {
    state.timestamp ??= new Date(this.clock.now()).toISOString();
    const accepted = this.reporter.setTaskRunState(key, state);
    if (accepted !== undefined && typeof accepted !== "boolean") return accepted.then((a) => a !== false);
    return accepted !== false;
  }

  /**
   * Record a state the task run ends a step in, with the task runner's line saying so: the line
   * is logged only if the state is recorded (see RunReporter.setTaskRunStateWithLine).
   */
  reportFinal(key: TaskRunKey, state: State, message: string): boolean | Promise<boolean> {
    const line = LOG_LEVELS.INFO < LOG_LEVELS[this.logLevel] ? undefined : this.taskRunnerRecord(key, "INFO", message);
    if (!line) return this.report(key, state);
    if (this.reporter.setTaskRunStateWithLine) {
      state.timestamp ??= new Date(this.clock.now()).toISOString();
      return this.reporter.setTaskRunStateWithLine(key, state, line);
    }
    const logIfAccepted = (accepted: boolean) => {
      if (accepted) this.reporter.log(line);
      return accepted;
    };
    const accepted = this.report(key, state);
    return typeof accepted === "boolean" ? logIfAccepted(accepted) : accepted.then(logIfAccepted);
  }

  /** States reported are waiting to be sent (see RunReporter.unsent). */
  unsent(): boolean {
    return this.reporter.unsent?.() === true;
  }

  /** Undefined when everything reported is stored; else resolves once it is (see RunReporter.checkpoint). */
  untilStored(): Promise<void> | undefined {
    return this.reporter.checkpoint?.();
  }

  sleepUntil(time: number): Promise<void> {
    return this.clock.sleep(time - this.clock.now(), this.signal);
  }

  taskRunId(key: TaskRunKey): string {
    return this.reporter.taskRunId?.(key) ?? `${this.identity.flowRunId}/${taskRunKeyString(key.slug, key.mapIndex)}`;
  }

  taskLogger(taskName: string, key: TaskRunKey): Logger {
    return createLogger({
      name: `prefectlite.Task: ${taskName}`,
      minLevel: this.logLevel,
      sink: (r) => this.reporter.log(r),
      now: this.clock.now,
      taskRunKey: taskRunKeyString(key.slug, key.mapIndex),
    });
  }

  /** The context a task run sees; its logger and task run id are made on first use (most tasks never ask). */
  taskContext(definition: TaskDefinition, key: TaskRunKey, logger?: Logger): RunContext {
    return new TaskRunContext(this, definition, key, logger);
  }

  resultContext(definition: TaskDefinition, key: TaskRunKey): ResultWriteContext {
    return {
      flowName: this.identity.flowName,
      flowRunId: this.identity.flowRunId,
      flowRunName: this.identity.flowRunName,
      taskName: definition.name,
      taskSlug: key.slug,
      taskRunId: this.taskRunId(key),
      mapIndex: key.mapIndex,
      parameters: { ...this.parameters },
    };
  }

  /** The value of an outcome: in memory, read from its result location, or a mapped parent's list. */
  async valueOf(outcome: Outcome): Promise<unknown> {
    if (outcome.children) return Promise.all(outcome.children.map((c) => this.valueOf(c)));
    if (outcome.hasValue) return outcome.value;
    const location = outcome.state.resultLocation;
    if (location && outcome.state.isSuccessful()) return this.results.read(location, { configuredDir: () => outcome.resultDir });
    return undefined;
  }
}

/** The signal of a run that nothing can cancel (a local run). */
const NEVER_ABORTED = new AbortController().signal;

/** A task run's RunContext (a class, so its lazy getters live on the prototype: cheap per task run). */
class TaskRunContext implements RunContext {
  readonly flowName: string;
  readonly flowRunId: string;
  readonly flowRunName: string;
  readonly flowId: string | undefined;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly taskSlug: string;
  readonly taskName: string;
  readonly mapIndex: number;
  readonly apiUrl: string | undefined;
  readonly backed: boolean;
  readonly logStdout: boolean;
  #logger: Logger | undefined;
  #taskRunId: string | undefined;

  constructor(
    private readonly env: RunEnvironment,
    definition: TaskDefinition,
    private readonly key: TaskRunKey,
    logger: Logger | undefined,
  ) {
    const id = env.identity;
    this.flowName = id.flowName;
    this.flowRunId = id.flowRunId;
    this.flowRunName = id.flowRunName;
    this.flowId = id.flowId;
    this.parameters = env.parameters;
    this.taskSlug = key.slug;
    this.taskName = definition.name;
    this.mapIndex = key.mapIndex;
    this.apiUrl = id.apiUrl;
    this.backed = id.backed;
    this.logStdout = definition.logStdout;
    this.#logger = logger;
  }

  get logger(): Logger {
    return (this.#logger ??= this.env.taskLogger(this.taskName, this.key));
  }

  get taskRunId(): string {
    return (this.#taskRunId ??= this.env.taskRunId(this.key));
  }

  get cancelled(): boolean {
    return this.env.stopping();
  }

  get signal(): AbortSignal {
    return this.env.signal ?? NEVER_ABORTED;
  }
}
