/**
 * Tasks for composing flows (Prefect's `prefect.tasks.prefect.flow_run`): create a child flow
 * run, wait for it, and read a task result out of it. They are ordinary tasks: call them in a
 * flow's build function and pass their handles on.
 */
import type { BackendClient } from "../client/client.ts";
import { FlowRunView, FlowView, LogFollower } from "../client/views/index.ts";
import { currentContext } from "../core/context.ts";
import { PrefectliteError } from "../core/errors.ts";
import type { Handle } from "../core/graph.ts";
import { createLogger, type Logger } from "../core/logging.ts";
import { toRunConfig, type RunConfigInput } from "../core/run-config.ts";
import { FAIL } from "../core/signals.ts";
import { task, type Input, type Task } from "../core/task.ts";
import { LocalResultStore } from "../engine/result-store.ts";
import { settings } from "../settings.ts";
import { ensureExecution } from "./agentless.ts";
import { environmentClient } from "./views.ts";
import { writeStderr } from "../stdio.ts";

export interface CreateFlowRunOptions {
  /** The flow by name (its live version); give this or flowId. */
  flowName?: string;
  /** A flow id, or a flow group id (its newest version). */
  flowId?: string;
  /** Needed when flowName is registered in several projects. */
  projectName?: string;
  parameters?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** Default: `<parent run name>-<child flow name>` inside a backed run. */
  runName?: string;
  labels?: string[];
  /** Default: the creating task run's id (with `-<mapIndex>` when mapped), so a retry makes no second child. */
  idempotencyKey?: string;
  /** ISO time or Date; default now. */
  scheduledStartTime?: string | Date;
  runConfig?: RunConfigInput;
}

export interface WaitForFlowRunOptions {
  /** Relay the child's log lines through this task's logger as "Flow '<child>': <message>" (default false). */
  streamLogs?: boolean;
  /** Relay the child's state changes (default true). */
  streamStates?: boolean;
  /** End this task Failed when the child does not succeed (default false). */
  raiseFinalState?: boolean;
  /** Give up (this task Fails) when the child has not finished after this long (default 12 h, as Prefect's `max_duration`). */
  maxDurationMs?: number;
}

/** How long waitForFlowRun waits by default: Prefect's `wait_for_flow_run(max_duration=timedelta(hours=12))`. */
export const DEFAULT_MAX_WAIT_MS = 12 * 60 * 60 * 1000;

export interface GetTaskRunResultOptions {
  /** A mapped child; default -1 (the task run itself, or a mapped parent's whole list). */
  mapIndex?: number;
}

/** Where the current task run is, if any: its logger, and what the defaults derive from. */
function here() {
  const ctx = currentContext();
  const logger: Logger =
    ctx?.logger ?? createLogger({ name: "prefectlite.compose", minLevel: "INFO", sink: (r) => writeStderr(`${r.message}\n`), now: Date.now });
  const apiUrl = ctx?.apiUrl ?? settings.apiUrl();
  const client = environmentClient(apiUrl);
  return { ctx, logger, apiUrl, client, deps: { client, results: new LocalResultStore(settings.resultsDir()) } };
}

async function resolveFlow(o: CreateFlowRunOptions, deps: { client: BackendClient; results: LocalResultStore }): Promise<FlowView> {
  if (!!o.flowName === !!o.flowId) throw new PrefectliteError("Validation", "createFlowRun needs exactly one of flowName or flowId");
  if (o.flowName) return FlowView.fromFlowName(o.flowName, { ...deps, projectName: o.projectName });
  try {
    return await FlowView.fromFlowId(o.flowId!, deps);
  } catch (e) {
    if (!(e instanceof PrefectliteError && e.code === "NotFound")) throw e;
    try {
      return await FlowView.fromFlowGroupId(o.flowId!, deps);
    } catch {
      throw new PrefectliteError("NotFound", `No flow or flow group with id ${o.flowId}`);
    }
  }
}

async function createChildRun(options: CreateFlowRunOptions): Promise<string> {
  const { ctx, logger, apiUrl, client, deps } = here();
  const flow = await resolveFlow(options ?? {}, deps);
  const inBackedRun = ctx?.backed === true;
  const runName = options.runName ?? (inBackedRun ? `${ctx.flowRunName}-${flow.name}` : undefined);
  const idempotencyKey =
    options.idempotencyKey ?? (inBackedRun && ctx.taskRunId ? (ctx.mapIndex >= 0 ? `${ctx.taskRunId}-${ctx.mapIndex}` : ctx.taskRunId) : undefined);
  logger.info(`Creating flow run '${runName ?? "<generated-name>"}' for flow '${flow.name}'...`);
  const id = await client.createFlowRun({
    flowId: flow.flowId,
    parameters: options.parameters,
    context: options.context,
    labels: options.labels,
    runName,
    idempotencyKey,
    scheduledStartTime: options.scheduledStartTime,
    runConfig: options.runConfig === undefined ? undefined : toRunConfig(options.runConfig),
  });
  const child = await FlowRunView.fromFlowRunId(id, deps);
  const base = (await client.baseUrl()) ?? apiUrl?.replace(/\/graphql\/?$/, "") ?? "http://127.0.0.1:4200";
  logger.info(`Created flow run '${child.name}': ${base.replace(/\/$/, "")}/flow-run/${id}`);
  await ensureExecution(client, id, { apiUrl, logger });
  return id;
}

/** Poll a flow run until it is finished (streaming its states and logs when asked). */
async function untilFinished(
  flowRunId: string,
  relay: { states: boolean; logs: boolean } = { states: false, logs: false },
  maxDurationMs = DEFAULT_MAX_WAIT_MS,
): Promise<FlowRunView> {
  if (typeof maxDurationMs !== "number" || !(maxDurationMs > 0)) throw new PrefectliteError("Validation", "maxDurationMs must be a number of milliseconds > 0");
  const deadline = Date.now() + maxDurationMs;
  const { logger, apiUrl, client, deps } = here();
  let view = await FlowRunView.fromFlowRunId(flowRunId, deps);
  await ensureExecution(client, flowRunId, { apiUrl, logger });
  const follower = relay.logs ? new LogFollower(client, flowRunId) : undefined;
  let statesSeen = relay.states ? 0 : Number.POSITIVE_INFINITY;
  let pause = 50;
  for (;;) {
    for (const s of view.states.slice(statesSeen)) logger.info(`Flow '${view.name}': Entered state <${s.type}>: ${s.message}`);
    statesSeen = Math.max(statesSeen, view.states.length);
    for (const line of (await follower?.next()) ?? []) logger.log(line.level, `Flow '${view.name}': ${line.message}`);
    if (view.state.isFinished()) return view;
    if (Date.now() >= deadline) {
      throw new FAIL(`Flow run ${flowRunId} did not finish within ${formatDuration(maxDurationMs)} (maxDurationMs); it is ${view.state.type}`);
    }
    await Bun.sleep(Math.max(1, Math.min(pause, deadline - Date.now())));
    pause = Math.min(1000, pause * 1.5);
    view = await view.getLatest();
  }
}

async function waitForChild(flowRunId: string, options: WaitForFlowRunOptions = {}): Promise<FlowRunView> {
  const view = await untilFinished(flowRunId, { states: options.streamStates ?? true, logs: options.streamLogs === true }, options.maxDurationMs);
  if (options.raiseFinalState && !view.state.isSuccessful()) {
    throw new FAIL(`${flowRunId} finished in state ${view.state.toString()}`);
  }
  return view;
}

async function childTaskResult(flowRunId: string, taskSlug: string, options: GetTaskRunResultOptions = {}): Promise<unknown> {
  if (typeof taskSlug !== "string" || !taskSlug) throw new PrefectliteError("Validation", "getTaskRunResult needs a task slug, e.g. 'create_some_data-1'");
  const ctx = currentContext();
  if (ctx && ctx.flowRunId === flowRunId) {
    throw new PrefectliteError("Validation", "getTaskRunResult cannot read a result of its own flow run (it would wait for itself)");
  }
  const view = await untilFinished(flowRunId);
  const taskRun = await view.getTaskRun({ taskSlug, mapIndex: options.mapIndex ?? -1 });
  return taskRun.getResult();
}

/**
 * Create a flow run of another registered flow and return its id at once (Prefect's
 * `create_flow_run`). Where no live agent can take it, this process executes it.
 */
export const createFlowRun: Task<[options: CreateFlowRunOptions], Promise<string>> = task({ name: "create_flow_run" }, createChildRun);

/**
 * Wait until a flow run finishes and return its FlowRunView (Prefect's `wait_for_flow_run`);
 * `raiseFinalState` ends this task Failed when the child did not succeed.
 */
export const waitForFlowRun: Task<[flowRunId: string, options?: WaitForFlowRunOptions], Promise<FlowRunView>> = task(
  { name: "wait_for_flow_run" },
  waitForChild,
);

type GetTaskRunResult = Task<[flowRunId: string, taskSlug: string, options?: GetTaskRunResultOptions], Promise<unknown>> &
  (<T = unknown>(flowRunId: Input<string>, taskSlug: Input<string>, options?: Input<GetTaskRunResultOptions>) => Handle<T>);

/**
 * The result of a task run in another flow run, once that flow run has finished (Prefect's
 * `get_task_run_result`). Say the result's type: `getTaskRunResult<number[]>(id, "make-1")`.
 */
export const getTaskRunResult = task({ name: "get_task_run_result" }, childTaskResult) as GetTaskRunResult;

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
