import type { BackendClient } from "../client/client.ts";
import { serializeForRegistration } from "../client/register.ts";
import { PrefectliteError, errorMessage } from "../core/errors.ts";
import { Flow } from "../core/flow.ts";
import { task } from "../core/task.ts";
import type { LogLevel, LogRecord } from "../core/logging.ts";
import { serializedHash } from "../core/serialize.ts";
import { Cancelled, isFinishedType, stateFromJSON, type State, type StateType } from "../core/state.ts";
import { runFlow } from "../engine/flow-runner.ts";
import { taskRunKeyString } from "../engine/ports.ts";
import { LocalResultStore } from "../engine/result-store.ts";
import { loadFlowsFromStorage } from "../loader/load.ts";
import { settings } from "../settings.ts";
import { BackendReporter } from "./backend-reporter.ts";
import type { Backend, FlowRunDetails, TaskRunRow } from "../client/backend.ts";
import { watchRun } from "./run-watch.ts";
import { writeStderr } from "../stdio.ts";

export interface BackedRunOptions {
  /** Each log record as it is logged (e.g. to print it); every record also goes to the backend. */
  onLog?: (record: LogRecord) => void;
  /** Each flow-run state this runner recorded. */
  onFlowRunState?: (state: State) => void;
  logLevel?: LogLevel;
  /** Default folder of LocalResults (default $PREFECTLITE_HOME/results). */
  resultsDir?: string;
  /** Default PREFECTLITE_HEARTBEAT_SECONDS. */
  heartbeatMs?: number;
  /** How often to look for a cancel request (default 1 s, or the heartbeat if shorter). */
  cancelPollMs?: number;
  /** How long a cancelled run waits for tasks already under way before it ends without them (default PREFECTLITE_CANCEL_GRACE_SECONDS). */
  cancelGraceMs?: number;
  batchSize?: number;
  /** How long writes are retried while the backend cannot be reached (default PREFECTLITE_BACKEND_RETRY_SECONDS). */
  retryWindowMs?: number;
  /** Sleep until a future scheduled start (default: return `not-due` at once). */
  waitForStart?: boolean;
  /**
   * Interrupt (SIGINT/SIGTERM of the executing process): write out what is buffered and return at
   * once, leaving the run as it is for the backend's safeguards (zombie killer, Lazarus).
   */
  signal?: AbortSignal;
  warn?: (message: string) => void;
}

export type BackedRunStatus =
  | "finished" // the engine ran and recorded a final state (maybe Running: retries or incomplete)
  | "cancelled" // a cancel request stopped the run
  | "interrupted" // options.signal: buffered writes flushed, the run left as it was
  | "lost" // the backend could not be reached for the retry window: stopped, the run left to the safeguards
  | "already-finished"
  | "not-ready"
  | "not-due"
  | "failed"; // could not load or start: the run was marked Failed

export interface BackedRunOutcome {
  status: BackedRunStatus;
  /** The run's state type when this runner let go of it. */
  state: StateType;
  message: string;
}

const READY: readonly StateType[] = ["Pending", "Scheduled", "Submitted", "Queued", "Retrying", "Running"];

/**
 * Execute one backend flow run in this process: read it, gate it (a finished run is a no-op, a
 * future one waits or returns), load its flow FRESH from storage, refuse a flow that changed
 * since registration, then run the engine with a backend reporter (batched writes, results
 * checkpointed, heartbeats, cancel watch), resuming from the task runs that already finished.
 * Never throws for a run that fails; throws only when the run itself cannot be read.
 */
export async function runBackedFlowRun(client: BackendClient, flowRunId: string, options: BackedRunOptions = {}): Promise<BackedRunOutcome> {
  const api = await client.backend();
  const warn = options.warn ?? ((m: string) => writeStderr(`${m}\n`));
  let details = await readOrThrow(api, flowRunId);

  const gate = await gateRun(api, details, options);
  // After sleeping until a future start, read the run again (it may have changed meanwhile).
  if (gate === "waited") details = await readOrThrow(api, flowRunId);
  else if (gate) return gate;

  let flow: Flow;
  try {
    flow = await loadRegisteredFlow(details);
  } catch (e) {
    const message = e instanceof ChangedFlowError ? e.message : `Failed to load and execute flow run: ${errorMessage(e)}`;
    return failRun(client, details, message, warn, options.onLog);
  }

  const reporter = new BackendReporter(api, {
    flowRunId,
    flowRunVersion: details.version,
    taskRuns: details.task_runs,
    versionLocking: details.flow.flow_group?.settings?.version_locking_enabled === true,
    batchSize: options.batchSize,
    retryWindowMs: options.retryWindowMs ?? settings.backendRetrySeconds() * 1000,
    onLog: options.onLog,
    onFlowRunState: options.onFlowRunState,
    warn,
    onLost: () => lost.abort(),
    onCancelSeen: () => onCancel(),
  });
  const controller = new AbortController();
  /** Aborted when the reporter gives up on the backend: stop at once, without writing. */
  const lost = new AbortController();
  const graceMs = options.cancelGraceMs ?? settings.cancelGraceSeconds() * 1000;
  let cancelRequested = false;
  // Seen by the cancel watch or by a refused write: no task run starts from now on, and those
  // under way get the grace period to finish (see untilEnded).
  const onCancel = () => {
    if (cancelRequested) return;
    cancelRequested = true;
    reporter.log({
      timestamp: Date.now(),
      level: "INFO",
      name: "prefectlite.FlowRunner",
      message: `Flow run is cancelling: no new task run starts; task runs under way get ${graceMs / 1000} s to finish`,
    });
    controller.abort();
  };
  const watch = watchRun(api, {
    flowRunId,
    heartbeatMs: options.heartbeatMs ?? settings.heartbeatSeconds() * 1000,
    pollMs: options.cancelPollMs,
    warn,
    onCancel,
  });

  try {
    const engine = runFlow(flow, {
      resolvedParameters: details.parameters ?? {},
      identity: { flowRunId, flowRunName: details.name, flowId: details.flow.id, apiUrl: api.baseUrl, backed: true },
      logLevel: options.logLevel,
      reporter,
      results: new LocalResultStore(options.resultsDir ?? settings.resultsDir()),
      checkpoint: true,
      prefectResultBytes: settings.prefectResultBytes(),
      signal: controller.signal,
      cancelRequested: () => cancelRequested || watch.cancelRequested(),
      priorStates: priorStatesOf(details.task_runs),
    });
    const ended = await untilEnded(engine, controller.signal, graceMs, options.signal, lost.signal);
    if (ended === "lost" || reporter.lost) {
      controller.abort(); // tasks still under way see a cancelled run and start nothing more
      return { status: "lost", state: "Running", message: errorMessage(reporter.lost) };
    }
    if (ended === "interrupted") {
      await reporter.close();
      const current = await api.readFlowRunState(flowRunId);
      return { status: "interrupted", state: current?.state ?? "Running", message: "Interrupted; the run is left to the backend's safeguards." };
    }
    if (ended === "stopped") {
      // Tasks still under way did not finish in the grace period: end without them.
      await reporter.close();
      const state = await forceCancelled(api, flowRunId, warn);
      return { status: "cancelled", state, message: "Flow run is cancelled." };
    }
    await reporter.close();
    if (cancelRequested || ended.isCancelled()) return { status: "cancelled", state: "Cancelled", message: ended.message };
    return { status: "finished", state: ended.type, message: ended.message };
  } catch (e) {
    if (reporter.lost) return { status: "lost", state: "Running", message: errorMessage(reporter.lost) };
    // The engine never throws for a task; this is the backend refusing the run itself.
    await reporter.close().catch(() => undefined);
    const current = await readOrThrow(api, flowRunId);
    if (isFinishedType(current.state)) return { status: "finished", state: current.state, message: errorMessage(e) };
    return failRun(client, current, `Unexpected error while running flow: ${errorMessage(e)}`, warn, options.onLog);
  } finally {
    watch.stop();
  }
}

class ChangedFlowError extends Error {}

async function readOrThrow(api: Backend, flowRunId: string): Promise<FlowRunDetails> {
  const details = await api.readFlowRun(flowRunId);
  if (!details) throw new PrefectliteError("NotFound", `Flow run ${flowRunId} not found`);
  return details;
}

/** Prefect's runner gates; undefined when the run may start. */
async function gateRun(api: Backend, details: FlowRunDetails, options: BackedRunOptions): Promise<BackedRunOutcome | "waited" | undefined> {
  const state = details.state;
  if (isFinishedType(state)) return { status: "already-finished", state, message: "Flow run has already finished." };
  if (state === "Cancelling") {
    const final = await forceCancelled(api, details.id, options.warn);
    return { status: "cancelled", state: final, message: "Flow run is cancelled." };
  }
  if (!READY.includes(state)) return { status: "not-ready", state, message: "Flow is not ready to run." };
  if (state === "Scheduled" || state === "Retrying") {
    const start = Date.parse(details.serialized_state?.startTime ?? details.scheduled_start_time ?? "");
    const wait = Number.isNaN(start) ? 0 : start - Date.now();
    if (wait > 0 && !options.waitForStart) {
      return { status: "not-due", state, message: `Flow run is scheduled to start at ${new Date(start).toISOString()}.` };
    }
    if (wait > 0) {
      await Bun.sleep(wait);
      return "waited";
    }
  }
  return undefined;
}

/**
 * Load the registered flow from its storage — imported again if the file changed since this
 * process last loaded it — and check it is still what was registered.
 */
async function loadRegisteredFlow(details: FlowRunDetails): Promise<Flow> {
  const storage = details.flow.storage;
  if (!storage) throw new PrefectliteError("FlowLoad", `flow '${details.flow.name}' was registered without a storage to load it from`);
  const loaded = await loadFlowsFromStorage(storage, { fresh: "if-changed" });
  const flow = loaded.flows.find((f) => f.name === details.flow.name);
  if (!flow) throw new PrefectliteError("FlowLoad", `flow '${details.flow.name}' is no longer in ${loaded.source}`);
  const hash = registrationHash(flow, details.flow.run_config?.labels ?? []);
  if (hash !== details.flow.serialized_hash) {
    const from = storage.type === "Local" ? `-p ${storage.path}` : `-m ${storage.module}`;
    throw new ChangedFlowError(`flow '${details.flow.name}' changed since it was registered: run prefectlite register ${from} --project <project>`);
  }
  return flow;
}

/** Hashes of loaded flows, by labels: a process executing many runs of one flow hashes it once. */
const registrationHashes = new WeakMap<Flow, Map<string, string>>();

function registrationHash(flow: Flow, labels: readonly string[]): string {
  let byLabels = registrationHashes.get(flow);
  if (!byLabels) registrationHashes.set(flow, (byLabels = new Map()));
  const key = JSON.stringify(labels);
  let hash = byLabels.get(key);
  if (hash === undefined) byLabels.set(key, (hash = serializedHash(serializeForRegistration(flow, labels))));
  return hash;
}

/** Task runs of an earlier attempt the engine must not run again (finished, mapped, or retrying). */
export function priorStatesOf(taskRuns: readonly TaskRunRow[]): Map<string, State> {
  const prior = new Map<string, State>();
  for (const row of taskRuns) {
    if (!row.serialized_state || !(isFinishedType(row.state) || row.state === "Retrying")) continue;
    prior.set(taskRunKeyString(row.task_slug, row.map_index), stateFromJSON(row.serialized_state));
  }
  return prior;
}

/**
 * Mark the run Failed with one clear message (state + ERROR log), with the task runs it leaves
 * unfinished (an earlier attempt's, or those under way at an unexpected error): the same write as
 * for a run whose process ended (run-process/).
 */
async function failRun(
  client: BackendClient,
  details: FlowRunDetails,
  message: string,
  warn: (m: string) => void,
  onLog?: (record: LogRecord) => void,
): Promise<BackedRunOutcome> {
  onLog?.({ timestamp: Date.now(), level: "ERROR", name: "prefectlite.FlowRunner", message });
  try {
    const ended = await (await client.backend()).endAbandonedRun(details.id, "Failed", message, "prefectlite.FlowRunner");
    return { status: "failed", state: ended.state, message };
  } catch (e) {
    warn(`Could not mark flow run ${details.id} Failed: ${errorMessage(e)}`);
    return { status: "failed", state: details.state, message };
  }
}

/** End a cancelled run whose tasks did not stop: Cancelled (the backend cancels its unfinished task runs). */
async function forceCancelled(api: Backend, flowRunId: string, warn?: (m: string) => void): Promise<StateType> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await api.readFlowRunState(flowRunId);
    if (!current || isFinishedType(current.state)) return current?.state ?? "Cancelled";
    try {
      await api.setFlowRunState(flowRunId, current.version, new Cancelled("Flow run is cancelled.").toJSON());
      return "Cancelled";
    } catch {
      // changed under us: read again
    }
  }
  warn?.(`Could not mark flow run ${flowRunId} Cancelled`);
  return "Cancelling";
}

/**
 * The engine's final state; "stopped" when it was cancelled and did not end within `graceMs`;
 * "interrupted" as soon as `interrupt` aborts; "lost" as soon as `lost` does.
 */
function untilEnded(
  engine: Promise<State>,
  cancel: AbortSignal,
  graceMs: number,
  interrupt: AbortSignal | undefined,
  lost: AbortSignal,
): Promise<State | "stopped" | "interrupted" | "lost"> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onCancel = () => {
      timer = setTimeout(() => done("stopped"), graceMs);
    };
    const onInterrupt = () => done("interrupted");
    const onLost = () => done("lost");
    const done = (value: State | "stopped" | "interrupted" | "lost", error?: unknown) => {
      clearTimeout(timer);
      cancel.removeEventListener("abort", onCancel);
      interrupt?.removeEventListener("abort", onInterrupt);
      lost.removeEventListener("abort", onLost);
      if (error !== undefined) reject(error);
      else resolve(value);
    };
    if (cancel.aborted) onCancel();
    else cancel.addEventListener("abort", onCancel, { once: true });
    if (lost.aborted) return done("lost");
    lost.addEventListener("abort", onLost, { once: true });
    if (interrupt?.aborted) return done("interrupted");
    interrupt?.addEventListener("abort", onInterrupt, { once: true });
    engine.then(
      (state) => done(state),
      (e) => done("stopped", e ?? new Error("the engine failed")),
    );
  });
}

/**
 * What a warm child does before it says it is ready (after the SDK resolver is installed): run
 * a flow of prefectlite's own through the engine once, in memory, and hash it as a registration
 * is checked, so that the first run it is given does not pay those code paths' first calls (or
 * the hash's module load). It writes nothing and prints nothing.
 */
export async function warmUpRunner(): Promise<void> {
  const double = task({ name: "double" }, (x: number) => x * 2);
  const sum = task({ name: "sum" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const flow = new Flow("prefectlite-warm-up", () => {
    sum(double.map([1, 2]));
  });
  registrationHash(flow, []);
  await runFlow(flow, {
    logLevel: "CRITICAL",
    reporter: { setFlowRunState() {}, setTaskRunState: async () => true, log() {} },
  });
}
