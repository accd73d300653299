import { runInContext, type RunContext } from "../core/context.ts";
import { errorMessage } from "../core/errors.ts";
import { LocalResult } from "../core/results.ts";
import { Signal } from "../core/signals.ts";
import {
  Cancelled,
  Failed,
  Pending,
  Retrying,
  Running,
  Skipped,
  Success,
  TimedOut,
  TriggerFailed,
  type State,
} from "../core/state.ts";
import type { TaskDefinition } from "../core/task.ts";
import { dirname } from "node:path";
import { turnIfDue } from "../core/event-loop.ts";
import { ProcessExitCalled } from "./process-exit.ts";
import { taskRunKeyString, type TaskRunKey } from "./ports.ts";
import type { RunEnvironment } from "./run-environment.ts";

/** What one task run (or a mapped parent with its children) ended with. */
export interface Outcome {
  readonly state: State;
  /** The in-memory value, when this run computed it. */
  readonly value?: unknown;
  readonly hasValue: boolean;
  readonly children?: readonly Outcome[];
  /** A resumed outcome's configured result dir (its task's, else its flow's LocalResult), for reading its value. */
  readonly resultDir?: string | null;
}

export const outcomeOf = (state: State, value?: unknown, hasValue = value !== undefined || state.isSuccessful()): Outcome => ({
  state,
  value,
  hasValue,
});

const TIMED_OUT = Symbol("timed out");

/**
 * Runs one task run to a finished state: trigger check, then attempts with retries, timeout and
 * result persistence. `args` is called only once the task is cleared to run.
 */
export async function runTaskRun(
  env: RunEnvironment,
  definition: TaskDefinition,
  key: TaskRunKey,
  upstream: readonly State[],
  args: () => Promise<unknown[]>,
): Promise<Outcome> {
  const label = taskRunKeyString(definition.name, key.mapIndex);
  const prior = env.prior(key);
  if (prior?.isFinished()) return env.resumed(prior, definition);
  if (env.stopping()) return env.cancelled(key, label, NOT_STARTED);
  const waiting = waitingOnUpstream(upstream);
  if (waiting) return waiting;

  const info = (message: string) => env.taskRunnerLog(key, "INFO", message);
  const finished = (state: State) => `Task '${label}': Finished task run for task with final state: '${state.type}'`;
  if (upstream.some((s) => s.isCancelled())) return env.cancelled(key, label, UPSTREAM_CANCELLED);
  const blocked = triggerBlock(definition, upstream);
  if (blocked) {
    info(`Task '${label}': Starting task run...`);
    await env.reportFinal(key, blocked, finished(blocked));
    return outcomeOf(blocked, undefined, false);
  }

  let runCount = prior?.isRetrying() ? (prior.runCount ?? 0) : 0;
  if (prior?.isRetrying() && prior.startTime) await env.sleepUntil(Date.parse(prior.startTime));

  for (;;) {
    // Checked right before the task run starts (also before each retry): none starts once the run is being cancelled.
    if (env.stopping()) return env.cancelled(key, label, runCount === 0 ? NOT_STARTED : "this task run is not retried");
    runCount++;
    info(`Task '${label}': Starting task run...`);
    const running = env.report(key, new Running("Starting task run."));
    if (!(typeof running === "boolean" ? running : await running)) {
      // Refused: another runner holds the task run — or, under version locking, the run is being cancelled.
      if (env.stopping()) return env.cancelled(key, label, NOT_STARTED);
      return outcomeOf(new Running("Task run is held by another runner."), undefined, false);
    }
    const state = await attempt(env, definition, key, runCount, args);
    if (state.isRetrying() && !env.stopping()) {
      await env.reportFinal(key, state, finished(state));
      await env.sleepUntil(Date.parse(state.startTime!));
      continue;
    }
    if (!state.isFinished()) return env.cancelled(key, label, "this task run is not retried");
    // Failing while the run is being cancelled is most likely the cancel's doing (context().signal): say both.
    if (state.isFailed() && env.stopping()) return env.cancelled(key, label, `this task run was stopped (${state.message ?? "it failed"})`);
    const reported = env.reportFinal(key, state, finished(state));
    if (typeof reported !== "boolean") await reported;
    return outcomeOf(state, state.result, state.isSuccessful() && !state.isSkipped());
  }
}

export const NOT_STARTED = "this task run never started";
export const UPSTREAM_CANCELLED = "an upstream task run was cancelled, so this one never started";

/**
 * An upstream task run that is not finished here (another runner holds it, under version
 * locking) says nothing yet about whether this one may run: leave it Pending, unreported, for
 * the runner that holds the upstream (Prefect's "Not all upstream states are finished").
 */
export function waitingOnUpstream(upstream: readonly State[]): Outcome | undefined {
  for (const s of upstream) if (!s.isFinished()) return outcomeOf(new Pending("Not all upstream states are finished."), undefined, false);
  return undefined;
}

/** The state a task ends in without running, when its upstream states say it must not run. */
export function triggerBlock(definition: TaskDefinition, upstream: readonly State[]): State | undefined {
  if (definition.skipOnUpstreamSkip && upstream.some((s) => s.isSkipped())) {
    return new Skipped("Upstream task was skipped; set skipOnUpstreamSkip: false to run it anyway.");
  }
  if (!definition.trigger.check(upstream)) {
    return new TriggerFailed(`Trigger was "${definition.trigger.name}" but some of the upstream tasks failed.`);
  }
  return undefined;
}

async function attempt(
  env: RunEnvironment,
  definition: TaskDefinition,
  key: TaskRunKey,
  runCount: number,
  args: () => Promise<unknown[]>,
): Promise<State> {
  const label = taskRunKeyString(definition.name, key.mapIndex);
  const retry = (message: string): State | undefined =>
    runCount <= definition.maxRetries
      ? new Retrying({
          message: `Retrying Task (after attempt ${runCount} of ${definition.maxRetries + 1}): ${message}`,
          startTime: new Date(env.clock.now() + definition.retryDelayMs).toISOString(),
          runCount,
        })
      : undefined;

  const ctx: RunContext = env.taskContext(definition, key);
  const logger = { error: (message: string) => env.taskRunnerLog(key, "ERROR", message) };
  const started = env.clock.now();
  let value: unknown;
  try {
    const values = await args();
    // Right before the task's function, with no await between: let the event loop turn when it
    // is due, so that a run of quick tasks that never wait on I/O does not keep the cancel watch,
    // timed flushes and signal handlers from running — and when states wait to be sent (this
    // task run's Running among them), so that a function computing synchronously does not keep
    // them. The run may be cancelled meanwhile.
    const turn = turnIfDue(env.unsent());
    if (turn) await turn;
    if (env.stopping()) return new Cancelled("Flow run is cancelled: this task run was stopped before its function ran.");
    value = await runInContext(ctx, () => withTimeout(definition, () => definition.fn(...(values as never[]))));
    if (value === TIMED_OUT || (definition.timeoutMs !== undefined && env.clock.now() - started > definition.timeoutMs)) {
      const message = "Task timed out during execution.";
      logger.error(`Task '${label}': ${message}`);
      return retry(message) ?? new TimedOut(message);
    }
  } catch (e) {
    if (e instanceof Signal) {
      if (e.kind === "skip") return new Skipped(e.message || "Task was skipped.");
      if (e.kind === "retry") {
        return new Retrying({
          message: e.message || "Retry requested by the task.",
          startTime: new Date(env.clock.now() + definition.retryDelayMs).toISOString(),
          runCount,
        });
      }
      return retry(e.message) ?? new Failed(e.message || "Task failed.");
    }
    if (e instanceof ProcessExitCalled) {
      logger.error(`Task '${label}': ${e.message}`);
      return new Failed(e.message);
    }
    logger.error(`Task '${label}': Exception encountered during task execution!\n${stackOf(e)}`);
    return retry(errorMessage(e)) ?? new Failed(`Error during execution of task: ${errorMessage(e)}`);
  }

  const config = definition.result ?? env.flowResult ?? (env.checkpoint ? new LocalResult() : undefined);
  if (!config) return new Success({ message: "Task run succeeded.", result: value });
  try {
    const location = await env.results.write(value, config, env.resultContext(definition, key));
    return new Success({ message: "Task run succeeded.", result: value, resultLocation: location, prefectResult: prefectCopy(value, env.prefectResultBytes) });
  } catch (e) {
    logger.error(`Task '${label}': could not persist its result: ${errorMessage(e)}`);
    return new Failed(`Error persisting the task result: ${errorMessage(e)}`);
  }
}

function withTimeout(definition: TaskDefinition, call: () => unknown): unknown {
  const out = call();
  if (definition.timeoutMs === undefined || !isThenable(out)) return out;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), definition.timeoutMs);
  });
  // The task's own promise may still reject after a timeout: observe it so it is never unhandled.
  Promise.resolve(out).catch(() => undefined);
  return Promise.race([out, timeout]).finally(() => clearTimeout(timer));
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/** prefectlite's own source folder (in the compiled binary, its virtual file system). */
const OWN_SOURCE = dirname(import.meta.dir);

/**
 * The error with the stack frames of the user's code only: frames inside prefectlite (or the
 * runtime's internals) tell a flow author nothing.
 */
export function stackOf(e: unknown): string {
  if (!(e instanceof Error) || !e.stack) return errorMessage(e);
  const lines = e.stack.split("\n");
  const isFrame = (line: string) => /^\s+at /.test(line);
  const own = (line: string) => line.includes(`${OWN_SOURCE}/`) || line.includes("/$bunfs/") || /\((native|node:)/.test(line);
  const kept = lines.filter((line) => !isFrame(line) || !own(line));
  return kept.join("\n");
}

/** The result as JSON text for Prefect's `PrefectResult`, when it fits the bound (a result store wrote it, or it is a run's parameter: JSON either way). */
export function prefectCopy(value: unknown, maxBytes: number): string | undefined {
  if (maxBytes <= 0) return undefined;
  const text = JSON.stringify(value ?? null);
  return Buffer.byteLength(text) <= maxBytes ? text : undefined;
}
