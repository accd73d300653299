import type { FlowRuntime } from "../core/serialize.ts";
import type { SerializedState, StateType } from "../core/state.ts";

/**
 * The contract of the services layer: every rule of SPEC §4 and the only write path. Inputs are
 * `unknown` where they arrive as user JSON (state, parameters, serialized flow): the services
 * validate them. Every failure is a PrefectliteError with a code.
 */

export interface ServiceClock {
  now(): Date;
}

export interface CreateProjectInput {
  name: string;
  description?: string | null;
}

export interface CreateFlowInput {
  /** The JSON of `Flow.serialize()`; validated here. */
  serializedFlow: unknown;
  projectId: string;
  versionGroupId?: string | null;
  idempotencyKey?: string | null;
  /** Default true: activate the flow's (or its group's) schedule when it has one. */
  setScheduleActive?: boolean | null;
  /** `serializedFlow` is base64 of gzip of the JSON (Prefect's create_flow_from_compressed_string). */
  compressed?: boolean;
  description?: string | null;
}

/** Prefect's register_tasks / register_edges: serialized task or edge entries for a flow. */
export interface RegisterFlowPartsInput {
  flowId: string;
  entries: unknown;
}

export interface CreateFlowResult {
  id: string;
  version: number;
  /** False when the registration idempotency key returned an existing flow. */
  created: boolean;
  /** Why the flow's schedule was left off although activation was asked for (null: activated, or nothing to activate). */
  scheduleLeftOff?: string | null;
}

export interface CreateFlowRunInput {
  flowId?: string | null;
  versionGroupId?: string | null;
  flowGroupId?: string | null;
  parameters?: unknown;
  context?: unknown;
  /** An explicit list (even []) wins over every default; null/undefined means "use the defaults". */
  labels?: string[] | null;
  flowRunName?: string | null;
  /** ISO-8601 or a Date; default now. */
  scheduledStartTime?: string | Date | null;
  idempotencyKey?: string | null;
  runConfig?: unknown;
  /** Set by the scheduler for runs it creates. */
  autoScheduled?: boolean;
}

export interface CreateFlowRunResult {
  id: string;
  /** False when the idempotency key returned an existing run. */
  created: boolean;
}

export interface FlowRunStateInput {
  flowRunId: string;
  /**
   * The version the writer read; a mismatch is a VersionConflict and nothing changes. None: the
   * write is made over the stored version, unless the flow's version lock is on (then refused).
   */
  version?: number | null;
  state: unknown;
  /** An explicit re-run: allows leaving a finished state for Scheduled/Pending. */
  rerun?: boolean;
  /** The writer's id for this write (a UUID): a write whose id is stored already is not made again. */
  writeId?: string;
}

export interface TaskRunStateInput {
  taskRunId: string;
  /** As a flow run's: none is made over the stored version unless the flow's version lock is on. */
  version?: number | null;
  state: unknown;
  rerun?: boolean;
  /** The writer's id for this write (a UUID): a write whose id is stored already is not made again. */
  writeId?: string;
}

export interface StateWriteResult {
  id: string;
  status: "SUCCESS";
  message: string | null;
  /** The run's version after the write. */
  version: number;
}

export interface SetStatesOptions {
  /** The agent writing (X-Prefect-Agent-Id): a Submitted flow state records it on the run. */
  agentId?: string | null;
}

export interface TaskRunInfo {
  id: string;
  flowRunId: string;
  taskId: string;
  taskSlug: string;
  mapIndex: number;
  version: number;
  state: StateType;
  serializedState: SerializedState;
}

export interface TaskRunLookup {
  flowRunId: string;
  taskId?: string | null;
  taskSlug?: string | null;
  /** Default -1 (the unmapped / parent task run). */
  mapIndex?: number | null;
}

export interface MappedChildrenInput {
  flowRunId: string;
  taskId?: string | null;
  taskSlug?: string | null;
  /** Children start…start+count-1 are returned, created where missing (at most PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL). */
  count: number;
  /** The first map index (default 0). */
  start?: number | null;
}

export interface WriteRunLogsResult {
  written: number;
  skipped: number;
  /** Why lines were skipped (present when some were): "logs[2]: unknown level 'LOUD' (…)". */
  problems?: string[];
  /** The same, as one line. */
  error?: string;
}

export interface RegisterAgentInput {
  name?: string | null;
  type: string;
  labels?: string[] | null;
  coreVersion?: string | null;
  /** Prefect's `--agent-config-id`: an agent config that exists. */
  agentConfigId?: string | null;
}

export interface RunsInQueueInput {
  labels?: string[] | null;
  /** Default now (+ nothing: callers add their look-ahead). */
  before?: string | Date | null;
  agentId?: string | null;
  limit?: number;
  /** Only runs of flows this engine executes (Prefect's agent: "python"); default any. */
  runtime?: FlowRuntime | null;
}

export interface ClaimRunsInput {
  agentId: string;
  /** The agent's labels; default the registered agent's. */
  labels?: string[] | null;
  limit: number;
  before?: string | Date | null;
}

export interface ClaimedRun {
  id: string;
  flowId: string;
  /** The run's version after the Submitted write: the agent's next write carries it. */
  version: number;
  /** The state the run was in before it was claimed (Scheduled, or Running for a retry). */
  previousState: StateType;
  scheduledStartTime: string;
  /** Its run config (the agent starts its process with it). */
  runConfig: unknown;
}

export type FlowGroupSetting = "heartbeat_enabled" | "lazarus_enabled" | "version_locking_enabled";

/**
 * Whose schedule: a schedule has no id of its own. Either field takes a flow id (that version's
 * schedule) or a flow group id (its newest unarchived version's; a group schedule overrides).
 */
export interface ScheduleTarget {
  flowId?: string | null;
  scheduleId?: string | null;
}

export interface RestartFlowRunInput {
  flowRunId: string;
  /** Who restarted it, for the state history ("the UI", "alice with prefectlite restart"); one line. */
  restartedBy?: string | null;
  /** The caller executes the run itself (`restart --execute`): it gets a fresh agentless-run label so no agent takes it. */
  agentless?: boolean | null;
}

export interface RestartFlowRunResult {
  id: string;
  state: "Scheduled";
  /** The run's version after the restart. */
  version: number;
  /** The Scheduled state's message (what the history shows). */
  message: string;
  labels: string[];
  /** Task runs back to Pending, and those that keep their states. */
  restartedTaskRuns: number;
  keptTaskRuns: number;
}
