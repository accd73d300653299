import { errorMessage } from "../core/errors.ts";
import type { Flow } from "../core/flow.ts";
import type { ArgSpec, ParameterNode, TaskNode } from "../core/graph.ts";
import { upstreamSlugs } from "../core/graph.ts";
import type { LogLevel, LogRecord } from "../core/logging.ts";
import { resolveParameters } from "../core/parameters.ts";
import {
  Cancelled,
  Failed,
  Mapped,
  Running,
  Success,
  type State,
} from "../core/state.ts";
import type { EngineClock, ResultStore, RunReporter, TaskRunKey } from "./ports.ts";
import { taskRunKeyString } from "./ports.ts";
import { LocalResultStore } from "./result-store.ts";
import { RunEnvironment, type RunIdentity } from "./run-environment.ts";
import { installStdoutCapture } from "./stdout-capture.ts";
import { systemClock } from "./system-clock.ts";
import { NOT_STARTED, UPSTREAM_CANCELLED, outcomeOf, prefectCopy, runTaskRun, triggerBlock, waitingOnUpstream, type Outcome } from "./task-runner.ts";

export interface RunFlowOptions {
  parameters?: Record<string, unknown>;
  /** Parameters already merged and checked by the backend: skip resolution. */
  resolvedParameters?: Record<string, unknown>;
  identity?: Partial<RunIdentity>;
  logLevel?: LogLevel;
  reporter?: RunReporter;
  results?: ResultStore;
  /** Default folder for LocalResult when `results` is not given. */
  resultsDir?: string;
  checkpoint?: boolean;
  /**
   * A persisted result whose JSON is at most this many bytes is also copied into its Success state
   * as Prefect's `PrefectResult` (Prefect 1 reads a LocalResult file only as a pickle). 0: never.
   */
  prefectResultBytes?: number;
  clock?: EngineClock;
  signal?: AbortSignal;
  /** States of task runs from an earlier attempt of this flow run (resume), keyed "slug" / "slug[i]". */
  priorStates?: ReadonlyMap<string, State>;
  /**
   * Asked synchronously right before each task run starts: true once the run is being cancelled
   * (a flag that another thread sets, so it holds also while this thread was busy). Once it is
   * true no task run starts; the run ends Cancelled. `signal` aborts what is under way.
   */
  cancelRequested?: () => boolean;
}

/** The final state of a flow run; `taskStates` holds each task run's final state, keyed "slug" / "slug[i]". */
export interface FlowRunState extends State {
  readonly taskStates: ReadonlyMap<string, State>;
}

/** The flow's parameter values for a run: declared defaults under `given`; wrong names and missing required ones throw. */
export function resolveFlowParameters(flow: Flow, given?: Record<string, unknown>): Record<string, unknown> {
  const declared = flow.graph.parameters.map((p) => ({
    name: p.name,
    default: p.hasDefault ? p.default : undefined,
    required: p.required,
    type: p.type,
  }));
  return resolveParameters(flow.name, declared, given);
}

/** A reporter that keeps nothing but the log lines it is handed. */
export function memoryReporter(onLog: (r: LogRecord) => void = () => {}): RunReporter {
  return { setFlowRunState() {}, setTaskRunState() {}, log: onLog };
}

/**
 * Execute one flow run in this process. Independent tasks run concurrently; each task waits for
 * its upstream tasks. Never rejects for a task's failure: the returned state says how it went.
 * Throws a Validation error before anything runs when the parameters are wrong.
 */
export async function runFlow(flow: Flow, options: RunFlowOptions = {}): Promise<FlowRunState> {
  const graph = flow.graph;
  const parameters = options.resolvedParameters ?? resolveFlowParameters(flow, options.parameters);
  const clock = options.clock ?? systemClock;
  const reporter = options.reporter ?? memoryReporter();
  const identity: RunIdentity = {
    flowName: flow.name,
    flowRunId: options.identity?.flowRunId ?? crypto.randomUUID(),
    flowRunName: options.identity?.flowRunName ?? flow.name,
    flowId: options.identity?.flowId,
    apiUrl: options.identity?.apiUrl,
    backed: options.identity?.backed ?? false,
  };
  const env = new RunEnvironment(
    identity,
    Object.freeze({ ...parameters }),
    reporter,
    options.results ?? new LocalResultStore(options.resultsDir ?? "results"),
    clock,
    options.logLevel ?? "INFO",
    flow.options.result,
    options.checkpoint ?? false,
    options.priorStates ?? new Map(),
    options.signal,
    options.cancelRequested,
    options.prefectResultBytes ?? 0,
  );
  if (graph.tasks.some((t) => t.definition.logStdout)) installStdoutCapture();

  const finish = async (state: State, taskStates: Map<string, State>): Promise<FlowRunState> => {
    state.timestamp ??= new Date(clock.now()).toISOString();
    await reporter.setFlowRunState(state);
    await reporter.flush?.();
    return Object.assign(state, { taskStates });
  };

  env.flowLogger.info(`Beginning Flow run for '${flow.name}'`);
  await reporter.setFlowRunState(Object.assign(new Running("Running flow."), { timestamp: new Date(clock.now()).toISOString() }));

  const outcomes = new Map<string, Promise<Outcome>>();
  const taskSlugs = new Set(graph.tasks.map((t) => t.slug));
  try {
    for (const node of graph.nodes) {
      const ups = node.kind === "task" ? upstreamSlugs(node) : [];
      const upstream = ups.map((slug) => outcomes.get(slug)!);
      // A parameter's task run has no side effect to redo: only upstream tasks are waited for.
      const afterTasks = ups.some((slug) => taskSlugs.has(slug));
      outcomes.set(
        node.slug,
        Promise.all(upstream).then((resolved) => {
          const bySlug = new Map(ups.map((slug, i) => [slug, resolved[i]!]));
          const run = () => (node.kind === "parameter" ? runParameter(env, node) : runTaskNode(env, node, bySlug));
          // The upstream tasks' final states (and their log lines) are stored before this one starts.
          const stored = afterTasks ? env.untilStored() : undefined;
          return stored ? stored.then(run) : run();
        }),
      );
    }
    const settled = await Promise.all([...outcomes.values()]);
    const taskStates = new Map<string, State>();
    const all = [...outcomes.keys()].map((slug, i) => [slug, settled[i]!] as const);
    for (const [slug, o] of all) {
      taskStates.set(slug, o.state);
      o.children?.forEach((c, i) => taskStates.set(taskRunKeyString(slug, i), c.state));
    }
    const referenceStates = graph.referenceSlugs.flatMap((slug) => {
      const o = all.find(([s]) => s === slug)![1];
      return o.children ? [o.state, ...o.children.map((c) => c.state)] : [o.state];
    });
    return await finish(finalState(env, referenceStates), taskStates);
  } catch (e) {
    const message = `Unexpected error while running flow: ${errorMessage(e)}`;
    env.flowLogger.error(message);
    return finish(new Failed(message), new Map());
  }
}

function finalState(env: RunEnvironment, referenceStates: State[]): State {
  if (env.stopping() || referenceStates.some((s) => s.isCancelled())) {
    env.flowLogger.info("Flow run CANCELLED: the run was cancelled");
    return new Cancelled("Flow run is cancelled.");
  }
  if (referenceStates.some((s) => s.isFailed())) {
    env.flowLogger.info("Flow run FAILED: some reference tasks failed.");
    return new Failed("Some reference tasks failed.");
  }
  if (referenceStates.every((s) => s.isSuccessful())) {
    env.flowLogger.info("Flow run SUCCESS: all reference tasks succeeded");
    return new Success("All reference tasks succeeded.");
  }
  env.flowLogger.info("Flow run RUNNING: terminal tasks are incomplete.");
  return new Running("Terminal tasks are incomplete.");
}

async function runParameter(env: RunEnvironment, node: ParameterNode): Promise<Outcome> {
  const key: TaskRunKey = { slug: node.slug, mapIndex: -1 };
  const value = env.parameters[node.name];
  const prior = env.prior(key);
  if (prior?.isFinished()) return outcomeOf(prior, value, true);
  if (env.stopping()) return env.cancelled(key, node.name, NOT_STARTED);
  env.taskRunnerLog(key, "INFO", `Task '${node.name}': Starting task run...`);
  await env.report(key, new Running("Starting task run."));
  // Prefect's Parameter keeps its value as a PrefectResult, so Prefect's get_result reads it; here under the same bound as a task's.
  const state = new Success({ message: "Task run succeeded.", result: value, prefectResult: prefectCopy(value, env.prefectResultBytes) });
  await env.reportFinal(key, state, `Task '${node.name}': Finished task run for task with final state: 'Success'`);
  return outcomeOf(state, value, true);
}

/** The upstream states a trigger sees: a mapped upstream contributes its children (a reduce). */
function reducedStates(o: Outcome): State[] {
  return o.children ? [o.state, ...o.children.map((c) => c.state)] : [o.state];
}

async function argValue(env: RunEnvironment, spec: ArgSpec, upstream: ReadonlyMap<string, Outcome>): Promise<unknown> {
  return spec.kind === "constant" ? spec.value : env.valueOf(upstream.get(spec.slug)!);
}

function runTaskNode(env: RunEnvironment, node: TaskNode, upstream: ReadonlyMap<string, Outcome>): Promise<Outcome> {
  const key: TaskRunKey = { slug: node.slug, mapIndex: -1 };
  if (!node.mappedArgs) {
    const states = [...upstream.values()].flatMap(reducedStates);
    return runTaskRun(env, node.definition, key, states, () => Promise.all(node.args.map((a) => argValue(env, a, upstream))));
  }
  return runMappedNode(env, node, upstream);
}

async function runMappedNode(env: RunEnvironment, node: TaskNode, upstream: ReadonlyMap<string, Outcome>): Promise<Outcome> {
  const def = node.definition;
  const key: TaskRunKey = { slug: node.slug, mapIndex: -1 };
  const mappedArgs = node.mappedArgs!;
  const mappedRefs = new Set(node.args.flatMap((a, i) => (mappedArgs[i] && a.kind === "ref" ? [a.slug] : [])));
  const info = (message: string) => env.taskRunnerLog(key, "INFO", message);
  const end = async (state: State): Promise<Outcome> => {
    await env.reportFinal(key, state, `Task '${def.name}': Finished task run for task with final state: '${state.type}'`);
    return outcomeOf(state, undefined, false);
  };

  const prior = env.prior(key);
  const resuming = prior?.isMapped() === true;
  if (prior?.isFinished() && !resuming) return env.resumed(prior, def);
  if (!resuming) {
    if (env.stopping()) return env.cancelled(key, def.name, NOT_STARTED);
    // The parent's trigger sees a mapped-over upstream as its parent state; each child checks its own.
    const parentStates = [...upstream.entries()].flatMap(([slug, o]) => (mappedRefs.has(slug) ? [o.state] : reducedStates(o)));
    const waiting = waitingOnUpstream(parentStates);
    if (waiting) return waiting;
    if (parentStates.some((s) => s.isCancelled())) return env.cancelled(key, def.name, UPSTREAM_CANCELLED);
    info(`Task '${def.name}': Starting task run...`);
    const blocked = triggerBlock(def, parentStates);
    if (blocked) return end(blocked);
  }

  let values: unknown[];
  try {
    values = await Promise.all(node.args.map((a) => argValue(env, a, upstream)));
  } catch (e) {
    return end(new Failed(`Could not load the values to map over: ${errorMessage(e)}`));
  }
  const lengths: number[] = [];
  for (const [i, v] of values.entries()) {
    if (!mappedArgs[i]) continue;
    if (!Array.isArray(v)) {
      return end(new Failed(`Cannot map over argument ${i + 1} of '${def.name}': it is not a list (got ${typeof v}); wrap it in unmapped() to pass it whole`));
    }
    lengths.push(v.length);
  }
  const n = Math.min(...lengths);
  if (!resuming && env.stopping()) return env.cancelled(key, def.name, "the flow run was cancelled before its children were created");
  const parentState = resuming ? prior! : new Mapped({ message: "Ready to proceed with mapping.", nMapStates: n });
  if (!resuming && !(await env.reportFinal(key, parentState, `Task '${def.name}': Finished task run for task with final state: 'Mapped'`))) {
    return outcomeOf(parentState, undefined, false);
  }

  const entries = [...upstream.entries()];
  const children = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const states = entries.flatMap(([slug, o]) => {
        if (!mappedRefs.has(slug)) return reducedStates(o);
        return [o.children?.[i]?.state ?? o.state];
      });
      const args = () => Promise.resolve(values.map((v, j) => (mappedArgs[j] ? (v as unknown[])[i] : v)));
      return runTaskRun(env, def, { slug: node.slug, mapIndex: i }, states, args);
    }),
  );
  return { state: parentState, hasValue: false, children };
}
