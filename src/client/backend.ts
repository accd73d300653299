import type { RunConfig, Storage } from "../core/flow.ts";
import type { SerializedFlow } from "../core/serialize.ts";
import type { SerializedState, StateType } from "../core/state.ts";

/**
 * The one seam between prefectlite's callers (the CLI, the SDK's Client, a backed run's runner
 * and reporter, the agents, the watcher's registrar) and a backend. Two implementations: in
 * process over the services (`ServicesBackend`, on the embedded database) and GraphQL over HTTP
 * (`HttpBackend`); `connect()` (runtime) chooses. Errors come back as PrefectliteErrors with the
 * backend's codes (NotFound, Validation, VersionConflict, Conflict, Unavailable…) either way.
 */
export interface Backend {
  /** Where a person can see a run (for printed URLs); undefined in-process. */
  readonly baseUrl: string | undefined;
  /** Run any GraphQL operation (Prefect's `Client.graphql`; the CLI's reads in documents.ts). */
  graphql<T = Record<string, unknown>>(document: string, variables?: Record<string, unknown>): Promise<T>;
  /** Free what the backend holds (the embedded database it opened). */
  close(): Promise<void>;

  // Projects and flows (the SDK, the CLI, the watcher's registrar).
  findProject(name: string): Promise<ProjectRow | undefined>;
  listProjects(): Promise<ProjectRow[]>;
  /** Create a project; an existing one is returned with `created: false`. */
  createProject(name: string, description?: string): Promise<{ id: string; created: boolean }>;
  /** The newest version of a flow by name (in a project when given); undefined when none. */
  latestFlow(name: string, projectName?: string): Promise<FlowRow | undefined>;
  listFlows(options?: ListFlowsOptions): Promise<FlowRow[]>;
  createFlow(input: CreateFlowInput): Promise<{ id: string; version: number; schedule_left_off: string | null }>;
  archiveFlow(flowId: string): Promise<void>;
  /** Create a flow run (an existing one for the same idempotency key); returns its id. */
  createFlowRun(input: FlowRunInput): Promise<string>;

  // One backed flow run (the runner, the reporter, the cancel watch).
  readFlowRun(id: string): Promise<FlowRunDetails | undefined>;
  readFlowRunState(id: string): Promise<{ state: StateType; version: number } | undefined>;
  readTaskRuns(ids: readonly string[]): Promise<TaskRunRow[]>;
  /** `version` is the one read (optimistic locking). Returns the run's new version (with `writeId` already stored: the version that write made). */
  setFlowRunState(id: string, version: number, state: SerializedState, writeId?: string): Promise<number>;
  /** One transaction: all written, or none (the error says why). Returns each run's new version. */
  setTaskRunStates(items: readonly TaskRunStateWrite[]): Promise<number[]>;
  /**
   * Children 0…count-1 of a mapped task run, created where missing: one call (one transaction)
   * per page (see mapped-children.ts).
   */
  mappedChildren(flowRunId: string, taskSlug: string, count: number): Promise<TaskRunRow[]>;
  writeLogs(logs: readonly LogRow[]): Promise<void>;
  /** Task-run states, logs, then (when given) the flow run's state, in one transaction: all written, or none. */
  writeBatch(batch: RunWriteBatch): Promise<{ taskRunVersions: number[]; flowRunVersion?: number }>;
  heartbeat(flowRunId: string): Promise<void>;
  /** Ask for a cancel; returns the run's state after it (Cancelling, or Cancelled when nothing runs it). */
  cancel(flowRunId: string): Promise<StateType>;
  /**
   * Beat for `flowRunId` and watch it for a cancel from the heartbeat thread, until `stop()`:
   * a run whose thread computes for minutes keeps beating. Undefined when no other thread can
   * reach this backend (an in-memory database; no thread could start): the caller beats itself.
   */
  watchFromThread(flowRunId: string, options: ThreadWatchOptions): ThreadWatch | undefined;

  // Agents, and whoever watches a run's process (agents, `run --execute`, agentless sub-flows).
  /** Register (or find) the agent with this name and labels; returns its id (over HTTP, later requests carry it). */
  registerAgent(name: string, labels: readonly string[]): Promise<string>;
  /** Take up to `limit` due runs these labels cover, atomically (Scheduled → Submitted); records the poll. */
  claimRuns(agentId: string, labels: readonly string[], limit: number): Promise<ClaimedFlowRun[]>;
  /**
   * A long poll, where the backend has one (a server over HTTP): resolves true as soon as a run
   * these labels cover may be waiting, false at the end of the wait (the server bounds it), or
   * undefined when the server has no long poll (an older prefectlite, a Prefect server): then the
   * agent sleeps between polls. `signal` ends the wait early.
   */
  waitForRuns?(labels: readonly string[], waitMs: number, signal: AbortSignal): Promise<boolean | undefined>;
  /** Record a poll without taking anything (when every slot is busy). */
  pollRuns(agentId: string, labels: readonly string[]): Promise<void>;
  /** The state and version of each of these runs (a run missing from the map no longer exists). */
  runStandings(flowRunIds: readonly string[]): Promise<Map<string, RunStanding>>;
  /**
   * End a run whose process is gone or was killed: the run and every task run it left unfinished
   * get `state`, saying `message` (a log line from `logger` too). A finished run is left as it is (`changed` false).
   */
  endAbandonedRun(flowRunId: string, state: AbandonedRunState, message: string, logger: string): Promise<{ state: StateType; changed: boolean }>;
  /** Log lines of whoever watches a run's process, stamped now. */
  writeRunLogs(lines: readonly RunLogLine[]): Promise<void>;
  /** Where a process this one starts (a flow run's) finds this backend. */
  location(): BackendLocation;
}

export interface ProjectRow {
  id: string;
  name: string;
  description: string | null;
  created: string;
}

export interface FlowRow {
  id: string;
  name: string;
  version: number;
  archived: boolean;
  version_group_id: string;
  flow_group_id: string;
  serialized_hash: string;
  /** As registered: each `{ name, type? }` (flows registered before types have none). */
  parameters: Array<{ name: string; type?: string }> | null;
  created: string;
  project: { id: string; name: string };
}

export interface ListFlowsOptions {
  projectName?: string;
  name?: string;
  /** Archived versions too. */
  all?: boolean;
  limit?: number;
}

export interface CreateFlowInput {
  serializedFlow: SerializedFlow;
  projectId: string;
  idempotencyKey?: string;
  setScheduleActive?: boolean;
}

/** A flow run to create, as the backend takes it (the SDK's CreateFlowRunInput, normalized). */
export interface FlowRunInput {
  flowId?: string;
  versionGroupId?: string;
  flowGroupId?: string;
  parameters?: Record<string, unknown>;
  context?: Record<string, unknown>;
  labels?: string[];
  runName?: string;
  /** ISO time; default now. */
  scheduledStartTime?: string;
  idempotencyKey?: string;
  /** A run config as JSON. */
  runConfig?: Record<string, unknown>;
}

/** One task run as the backed runner tracks it. */
export interface TaskRunRow {
  id: string;
  task_slug: string;
  map_index: number;
  version: number;
  state: StateType;
  serialized_state: SerializedState | null;
}

/** Everything a backed runner reads about its flow run before it starts. */
export interface FlowRunDetails {
  id: string;
  name: string;
  version: number;
  state: StateType;
  serialized_state: SerializedState | null;
  scheduled_start_time: string | null;
  parameters: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
  labels: string[] | null;
  run_config: RunConfig | null;
  flow: {
    id: string;
    name: string;
    serialized_hash: string;
    storage: Storage | null;
    run_config: RunConfig | null;
    flow_group: { settings: Record<string, unknown> | null } | null;
  };
  task_runs: TaskRunRow[];
}

export interface TaskRunStateWrite {
  taskRunId: string;
  version: number;
  state: SerializedState;
  /** The writer's id for the write (a UUID): sent again on a retry, it is not made twice. */
  writeId?: string;
}

export interface RunWriteBatch {
  taskRunStates: readonly TaskRunStateWrite[];
  logs: readonly LogRow[];
  /** Written last; without it the batch is a checkpoint of the run's states and logs. */
  flowRunState?: { id: string; version: number; state: SerializedState; writeId?: string };
}

/** A log row of a backed run. */
export interface LogRow {
  flow_run_id: string;
  task_run_id: string | null;
  timestamp: string;
  name: string;
  level: string;
  message: string;
  /** The writer's id for the line (a UUID): sent again on a retry, it is not stored twice. */
  write_id?: string;
}

/** A log line of a run, written by whoever watches its process (an agent, `run --execute`). */
export interface RunLogLine {
  flowRunId: string;
  level: "INFO" | "WARNING" | "ERROR";
  message: string;
  /** The logger's name (the agent's name, `prefectlite.execute`…). */
  name: string;
}

/** Where a run whose process is watched stands now. */
export interface RunStanding {
  state: StateType;
  version: number;
}

/** The final states a run's process may be ended with from outside it. */
export type AbandonedRunState = "Failed" | "Cancelled";

/** A run an agent has taken (Scheduled → Submitted), with what its process needs. */
export interface ClaimedFlowRun {
  id: string;
  /** The run config's environment for the child process (strings only). */
  env: Record<string, string>;
  /** The run config's `reuseProcess` (unset: as the agent was started). */
  reuseProcess?: boolean;
}

/** What an agent needs of a claimed run's run config. */
export function claimedRun(id: string, runConfig: unknown): ClaimedFlowRun {
  const reuse = (runConfig as { reuseProcess?: unknown } | null)?.reuseProcess;
  return { id, env: runConfigEnv(runConfig), ...(typeof reuse === "boolean" ? { reuseProcess: reuse } : {}) };
}

/** Where a flow run's process finds its backend. */
export interface BackendLocation {
  /** PREFECTLITE_HOME: the embedded database (without `apiUrl`) and, always, where results go. */
  home?: string;
  /** PREFECTLITE_DATABASE_URL: the embedded database (without `apiUrl`), when not PREFECTLITE_HOME's. */
  databaseUrl?: string;
  /** PREFECTLITE_API_URL: the server the run reports to. */
  apiUrl?: string;
  /** PREFECTLITE_API_TOKEN for that server. */
  token?: string;
}

/** The heartbeat thread's watch of one run (see Backend.watchFromThread and heartbeat-thread.ts). */
export interface ThreadWatch {
  /** False once the thread failed or was given up on: the caller beats and polls from its own timer again. */
  alive(): boolean;
  /** True once the thread saw the flow run Cancelling or Cancelled (read without waiting on this thread's event loop). */
  cancelRequested(): boolean;
  stop(): void;
}

export interface ThreadWatchOptions {
  /** Beat every this many ms. */
  heartbeatMs: number;
  /** Read the flow run's state every this many ms. */
  cancelPollMs: number;
  /** How each beat went (the message never carries the request's headers). */
  onBeat?: BeatReport;
  /** Once, on this thread's next turn after the thread saw the cancel. */
  onCancel?: () => void;
}

/** Tells the caller how each beat went (the message never carries the request's headers). */
export type BeatReport = (ok: boolean, message?: string) => void;

/** The run config's `env` as strings (other values are dropped: an environment holds text). */
export function runConfigEnv(runConfig: unknown): Record<string, string> {
  const env = (runConfig as { env?: unknown } | null)?.env;
  if (!env || typeof env !== "object" || Array.isArray(env)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v === "string") out[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[k] = String(v);
  }
  return out;
}
