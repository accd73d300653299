import { parseDuration, type Duration } from "./duration.ts";
import { validationError } from "./errors.ts";
import { currentBuilder, type Handle, type Unmapped } from "./graph.ts";
import type { Result } from "./results.ts";
import { allSuccessful, type Trigger } from "./triggers.ts";

export interface TaskOptions {
  /** Default: the function's name (name anonymous arrow functions with this option). */
  name?: string;
  maxRetries?: number;
  /** Delay between retries: ms, or "30s", "5m". Default 0 when maxRetries is set. */
  retryDelay?: Duration;
  /** Where to persist the return value. */
  result?: Result;
  /** Send what the task prints with console.log to the run's log. */
  logStdout?: boolean;
  tags?: string[];
  /** Fail the task run TimedOut after this long: ms, or "30s". */
  timeout?: Duration;
  /** Default allSuccessful. */
  trigger?: Trigger;
  /** When an upstream task was skipped, skip this one too (default true). */
  skipOnUpstreamSkip?: boolean;
}

/** Task options after validation, as the engine and the serializer read them. */
export interface TaskDefinition {
  readonly name: string;
  readonly fn: (...args: never[]) => unknown;
  readonly maxRetries: number;
  readonly retryDelayMs: number;
  readonly timeoutMs: number | undefined;
  readonly result: Result | undefined;
  readonly logStdout: boolean;
  readonly tags: readonly string[];
  readonly trigger: Trigger;
  readonly skipOnUpstreamSkip: boolean;
}

/** A value, or a handle to a task result of that type. */
export type Input<T> = T | Handle<T>;
export type Inputs<A extends readonly unknown[]> = { [K in keyof A]: Input<A[K]> };
/** What `.map()` accepts per argument: a list (or a handle to one) to map over, or `unmapped(x)`. */
export type MapInput<T> = readonly T[] | Handle<readonly T[]> | Unmapped<T>;
export type MapInputs<A extends readonly unknown[]> = { [K in keyof A]: MapInput<A[K]> };

export interface BoundTask<A extends readonly unknown[], R> {
  (...args: Inputs<A>): Handle<Awaited<R>>;
  /** One child task run per element; the parent's result is the list of the children's results. */
  map(...args: MapInputs<A>): Handle<Awaited<R>[]>;
}

export interface Task<A extends readonly unknown[], R> extends BoundTask<A, R> {
  readonly definition: TaskDefinition;
  /** The plain function, to call outside a flow (in tests, say). */
  readonly fn: (...args: A) => R;
  /** Run after these handles finish, without taking their results. */
  after(...upstream: Handle<unknown>[]): BoundTask<A, R>;
}

export function task<A extends unknown[], R>(fn: (...args: A) => R): Task<A, R>;
export function task<A extends unknown[], R>(options: TaskOptions, fn: (...args: A) => R): Task<A, R>;
export function task<A extends unknown[], R>(
  a: TaskOptions | ((...args: A) => R),
  b?: (...args: A) => R,
): Task<A, R> {
  const options = typeof a === "function" ? {} : a;
  const fn = typeof a === "function" ? a : b;
  if (typeof fn !== "function") throw validationError("task() needs a function");
  const definition = defineTask(options, fn as (...args: never[]) => unknown);

  const bind = (upstream: Handle<unknown>[]): BoundTask<A, R> => {
    const call = (...args: unknown[]) =>
      currentBuilder(`task '${definition.name}'`).addTask(definition, args, false, upstream);
    call.map = (...args: unknown[]) => {
      if (args.length === 0) throw validationError(`${definition.name}.map() needs at least one argument to map over`);
      return currentBuilder(`task '${definition.name}'.map`).addTask(definition, args, true, upstream);
    };
    return call as unknown as BoundTask<A, R>;
  };

  const bound = bind([]);
  return Object.assign(bound, {
    definition,
    fn,
    after: (...upstream: Handle<unknown>[]) => bind(upstream),
  }) as Task<A, R>;
}

function defineTask(options: TaskOptions, fn: (...args: never[]) => unknown): TaskDefinition {
  const name = options.name ?? (fn.name || "task");
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) {
    throw validationError(`invalid task name '${name}': use letters, digits, _ . : -`);
  }
  const maxRetries = options.maxRetries ?? 0;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw validationError(`task '${name}': maxRetries must be a whole number ≥ 0`);
  }
  return Object.freeze({
    name,
    fn,
    maxRetries,
    retryDelayMs: options.retryDelay === undefined ? 0 : parseDuration(options.retryDelay, `task '${name}' retryDelay`),
    timeoutMs: options.timeout === undefined ? undefined : parseDuration(options.timeout, `task '${name}' timeout`),
    result: options.result,
    logStdout: options.logStdout ?? false,
    tags: Object.freeze([...(options.tags ?? [])].sort()),
    trigger: options.trigger ?? allSuccessful,
    skipOnUpstreamSkip: options.skipOnUpstreamSkip ?? true,
  });
}
