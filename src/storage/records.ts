import type { SerializedParameter } from "../core/serialize.ts";
import type { SerializedSchedule } from "../core/schedule/schedule.ts";
import type { SerializedState, StateType } from "../core/state.ts";

/**
 * The rows the repositories hand to services: JSON columns parsed, booleans as booleans,
 * times as ISO-8601 UTC text. Nothing here knows SQL.
 */

export interface ProjectRecord {
  id: string;
  name: string;
  description: string | null;
}

export interface FlowGroupSettings {
  heartbeat_enabled: boolean;
  lazarus_enabled: boolean;
  version_locking_enabled: boolean;
  idempotency_key: string | null;
  [key: string]: unknown;
}

export interface RunConfigRecord {
  env?: Record<string, string>;
  labels?: string[];
  [key: string]: unknown;
}

export interface FlowGroupRecord {
  id: string;
  name: string;
  labels: string[] | null;
  schedule: SerializedSchedule | null;
  settings: FlowGroupSettings;
  defaultParameters: Record<string, unknown>;
  runConfig: RunConfigRecord | null;
}

export interface FlowRecord {
  id: string;
  name: string;
  version: number;
  versionGroupId: string;
  flowGroupId: string;
  projectId: string;
  archived: boolean;
  coreVersion: string;
  serializedHash: string;
  parameters: SerializedParameter[];
  runConfig: RunConfigRecord | null;
  schedule: SerializedSchedule | null;
  isScheduleActive: boolean;
  created: string;
}

export interface NewFlow extends Omit<FlowRecord, "created"> {
  serializedFlow: unknown;
  storage: unknown;
  description: string | null;
}

export interface TaskRecord {
  id: string;
  flowId: string;
  slug: string;
  name: string;
}

export interface NewTask extends TaskRecord {
  /** "task" or "parameter" for prefectlite's tasks; a Python task keeps Prefect's class (`prefect.tasks.core.function.FunctionTask`). */
  type: string;
  maxRetries: number;
  retryDelayMs: number;
  timeoutMs: number | null;
  trigger: string;
  mapped: boolean;
  isRootTask: boolean;
  isTerminalTask: boolean;
  isReferenceTask: boolean;
  tags: string[];
}

export interface NewEdge {
  id: string;
  flowId: string;
  upstreamTaskId: string;
  downstreamTaskId: string;
  key: number | null;
  mapped: boolean;
}

export interface EdgeRecord {
  upstreamTaskId: string;
  downstreamTaskId: string;
  /** The downstream task maps over this upstream's result. */
  mapped: boolean;
}

/** A state as it is written: the serialized form plus the columns copied onto the run. */
export interface StateWrite {
  /** Id of the history row. */
  id: string;
  state: SerializedState & { timestamp: string };
  /** Running: set start_time when it has none. */
  markStarted: boolean;
  /** Finished: set end_time. */
  markEnded: boolean;
  /** Refresh the run's heartbeat to this time. */
  heartbeat: string | null;
  /** Flow runs only: record the agent that took the run. */
  agentId?: string | null;
}

export interface FlowRunRecord {
  id: string;
  flowId: string;
  name: string;
  labels: string[];
  parameters: Record<string, unknown>;
  version: number;
  state: StateType;
  stateStartTime: string | null;
  serializedState: SerializedState;
  scheduledStartTime: string;
  autoScheduled: boolean;
  idempotencyKey: string | null;
  heartbeat: string | null;
  startTime: string | null;
  endTime: string | null;
  agentId: string | null;
}

export interface NewFlowRun {
  id: string;
  flowId: string;
  name: string;
  parameters: Record<string, unknown>;
  context: Record<string, unknown>;
  labels: string[];
  runConfig: unknown;
  scheduledStartTime: string;
  autoScheduled: boolean;
  idempotencyKey: string | null;
  initialState: StateWrite;
}

export interface TaskRunRecord {
  id: string;
  flowRunId: string;
  taskId: string;
  taskSlug: string;
  mapIndex: number;
  version: number;
  state: StateType;
  serializedState: SerializedState;
}

/** The part of a task run a state write checks. */
export type TaskRunWriteView = Pick<TaskRunRecord, "id" | "flowRunId" | "taskSlug" | "version" | "state">;

export interface NewTaskRun {
  id: string;
  flowRunId: string;
  taskId: string;
  taskSlug: string;
  mapIndex: number;
  initialState: StateWrite;
}

export interface NewLog {
  id: string;
  flowRunId: string;
  taskRunId: string | null;
  timestamp: string;
  name: string | null;
  level: string;
  message: string;
  info: unknown;
}

export interface AgentRecord {
  id: string;
  name: string;
  type: string;
  coreVersion: string | null;
  labels: string[];
  lastQueried: string | null;
}
