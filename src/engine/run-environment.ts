import type { RunContext } from "../core/context.ts";
import { createLogger, type Logger, type LogLevel } from "../core/logging.ts";
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
  ) {
    this.flowLogger = createLogger({
      name: "prefectlite.FlowRunner",
      minLevel: logLevel,
      sink: (r) => reporter.log(r),
      now: clock.now,
    });
  }

  prior(key: TaskRunKey): State | undefined {
    return this.priorStates.get(taskRunKeyString(key.slug, key.mapIndex));
  }

  /** A task run finished in an earlier attempt: keep its state; its value is read when needed. */
  resumed(prior: State): Outcome {
    return outcomeOf(prior, undefined, false);
  }

  async cancelled(key: TaskRunKey): Promise<Outcome> {
    const state = new Cancelled("Flow run is cancelled.");
    await this.report(key, state);
    return outcomeOf(state, undefined, false);
  }

  /** Record a state; false when the backend refused it (another runner holds the task run). */
  async report(key: TaskRunKey, state: State): Promise<boolean> {
    state.timestamp ??= new Date(this.clock.now()).toISOString();
    const accepted = await this.reporter.setTaskRunState(key, state);
    return accepted !== false;
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

  taskContext(definition: TaskDefinition, key: TaskRunKey, logger: Logger): RunContext {
    const id = this.identity;
    return {
      logger,
      flowName: id.flowName,
      flowRunId: id.flowRunId,
      flowRunName: id.flowRunName,
      flowId: id.flowId,
      parameters: this.parameters,
      taskRunId: this.taskRunId(key),
      taskSlug: key.slug,
      taskName: definition.name,
      mapIndex: key.mapIndex,
      apiUrl: id.apiUrl,
      backed: id.backed,
      logStdout: definition.logStdout,
    };
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
    if (location && outcome.state.isSuccessful()) return this.results.read(location);
    return undefined;
  }
}
