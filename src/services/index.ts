import type { MappedChildrenSummary, Store } from "../storage/store.ts";
import type { StateType } from "../core/state.ts";
import { createAgentService } from "./agents.ts";
import { createAgentConfigService, type CreateAgentConfigInput, type UpdateAgentConfigInput } from "./agent-configs.ts";
import { createArtifactService, type CreateTaskRunArtifactInput } from "./artifacts.ts";
import { createFlowGroupService } from "./flow-groups.ts";
import { createFlowEditService } from "./flow-edits.ts";
import { createFlowRunService } from "./flow-runs.ts";
import { createFlowService } from "./flows.ts";
import { createHeartbeatService } from "./heartbeats.ts";
import { createLogService } from "./logs.ts";
import { createProjectService } from "./projects.ts";
import {
  createSafeguardService,
  type EndAbandonedRunInput,
  type EndAbandonedRunResult,
  type KillZombiesOptions,
  type KillZombiesResult,
  type ResurrectRunsOptions,
  type ResurrectRunsResult,
} from "./safeguards.ts";
import { createRestartService } from "./restart.ts";
import { createRunEditService } from "./run-edits.ts";
import { createRunWaitService, type WaitForRunsInput } from "./run-wait.ts";
import { createScheduleService } from "./schedules.ts";
import { createSchedulingService, type FlowGroupScheduleInput, type ScheduleAllResult } from "./scheduling.ts";
import { createRunBatchService, type RunWriteBatch, type RunWriteBatchResult } from "./run-batches.ts";
import { createStateService } from "./states.ts";
import { createTaskRunService } from "./task-runs.ts";
import type {
  ClaimRunsInput,
  ClaimedRun,
  CreateFlowInput,
  RegisterFlowPartsInput,
  CreateFlowResult,
  CreateFlowRunInput,
  CreateFlowRunResult,
  CreateProjectInput,
  FlowGroupSetting,
  FlowRunStateInput,
  MappedChildrenInput,
  RegisterAgentInput,
  RestartFlowRunInput,
  RestartFlowRunResult,
  RunsInQueueInput,
  ScheduleTarget,
  SetStatesOptions,
  StateWriteResult,
  TaskRunInfo,
  TaskRunLookup,
  TaskRunStateInput,
  WriteRunLogsResult,
} from "./types.ts";

export type * from "./types.ts";
export type { RunWriteBatch, RunWriteBatchResult } from "./run-batches.ts";
export type { FlowGroupScheduleInput, ScheduleAllResult } from "./scheduling.ts";
export type {
  AbandonedRunState,
  EndAbandonedRunInput,
  EndAbandonedRunResult,
  KillZombiesOptions,
  KillZombiesResult,
  ResurrectRunsOptions,
  ResurrectRunsResult,
} from "./safeguards.ts";

/** Every rule of SPEC §4, and the only write path to the database. */
export interface Services {
  now(): Date;
  /** Prefect Server's task run artifacts (services/artifacts.ts). */
  createTaskRunArtifact(input: CreateTaskRunArtifactInput): Promise<{ id: string }>;
  updateTaskRunArtifact(id: unknown, data: unknown): Promise<void>;
  deleteTaskRunArtifact(id: unknown): Promise<void>;
  createProject(input: CreateProjectInput): Promise<{ id: string }>;
  createFlow(input: CreateFlowInput): Promise<CreateFlowResult>;
  registerTasks(input: RegisterFlowPartsInput): Promise<void>;
  registerEdges(input: RegisterFlowPartsInput): Promise<void>;
  archiveFlow(flowId: string): Promise<void>;
  deleteFlow(flowId: string): Promise<void>;
  createFlowRun(input: CreateFlowRunInput): Promise<CreateFlowRunResult>;
  setFlowRunStates(items: FlowRunStateInput[], options?: SetStatesOptions): Promise<StateWriteResult[]>;
  setTaskRunStates(items: TaskRunStateInput[]): Promise<StateWriteResult[]>;
  /** Finished → unchanged; Running → Cancelling; anything else → Cancelled (with its task runs). */
  cancelFlowRun(flowRunId: string): Promise<{ state: StateType }>;
  /**
   * Run a Failed or Cancelled run again from its failures, in one transaction: task runs that did
   * not succeed and everything downstream of them go back to Pending, the others keep their
   * states and results, and the run goes to Scheduled. Any other run is refused (Conflict).
   */
  restartFlowRun(input: RestartFlowRunInput): Promise<RestartFlowRunResult>;
  getOrCreateTaskRunInfo(input: TaskRunLookup): Promise<TaskRunInfo>;
  /** Children start…start+count-1 of a mapped task, created where missing (in transactions of 1,000 unless inside one). */
  getOrCreateMappedTaskRuns(input: MappedChildrenInput): Promise<TaskRunInfo[]>;
  writeRunLogs(logs: unknown[]): Promise<WriteRunLogsResult>;
  /** Task-run states, logs, then a flow-run state, in one transaction (all or nothing). */
  writeRunBatch(batch: RunWriteBatch): Promise<RunWriteBatchResult>;
  registerAgent(input: RegisterAgentInput): Promise<{ id: string }>;
  /** Prefect Server's agent configs (services/agent-configs.ts). */
  createAgentConfig(input: CreateAgentConfigInput): Promise<{ id: string }>;
  updateAgentConfig(input: UpdateAgentConfigInput): Promise<void>;
  deleteAgentConfig(agentConfigId: unknown): Promise<void>;
  getRunsInQueue(input: RunsInQueueInput): Promise<string[]>;
  /** Select and take (Scheduled → Submitted, versioned) up to `limit` due runs, atomically. */
  claimRuns(input: ClaimRunsInput): Promise<ClaimedRun[]>;
  /** A remote agent's long poll: `due` once a run its labels cover may be waiting, else false at the end of the wait (run-wait.ts). */
  waitForRuns(input: WaitForRunsInput): Promise<{ due: boolean }>;
  updateFlowRunHeartbeat(flowRunId: string): Promise<void>;
  updateTaskRunHeartbeat(taskRunId: string): Promise<void>;
  /** Writes `flow_group.settings[setting]` of the flow's group. */
  setFlowGroupSetting(flowId: string, setting: FlowGroupSetting, enabled: boolean): Promise<void>;
  setFlowGroupDefaultParameters(flowGroupId: string, parameters: unknown): Promise<void>;
  setFlowGroupLabels(flowGroupId: string, labels: string[] | null): Promise<void>;
  /** False when neither the flow nor its group has a schedule (nothing changes). */
  setScheduleActive(target: ScheduleTarget): Promise<boolean>;
  setScheduleInactive(target: ScheduleTarget): Promise<boolean>;
  /** Create the next runs of one active flow's schedule (idempotent); returns how many were created. */
  scheduleFlowRuns(flowId: string, options?: { maxRuns?: number }): Promise<number>;
  /** Flow ids of active schedules with fewer than maxRuns auto-scheduled runs ahead (one cheap query). */
  schedulesRunningLow(options?: { maxRuns?: number }): Promise<string[]>;
  /** Top up these flows' schedules, a flow per transaction; failures are reported per flow. */
  scheduleFlows(flowIds: readonly string[], options?: { maxRuns?: number }): Promise<ScheduleAllResult>;
  /**
   * One scheduler pass over every active schedule, topping up those running low, a flow per
   * transaction (`batchSize` flows, then the event loop's turn), unless another process is running
   * the pass now (`skipped`).
   */
  scheduleAll(options?: { maxRuns?: number; batchSize?: number }): Promise<ScheduleAllResult>;
  /** When the next waiting run becomes due: its start time strictly after `after` (default now). */
  nextDueAt(after?: Date): Promise<Date | undefined>;
  /** Set a flow group's schedule (overrides its flows'); replaced auto-scheduled runs are deleted. */
  setFlowGroupSchedule(input: FlowGroupScheduleInput): Promise<void>;
  deleteFlowGroupSchedule(flowGroupId: string): Promise<void>;
  /** The zombie killer's pass: end the Running task runs of runs that missed their heartbeats. */
  killZombies(options: KillZombiesOptions): Promise<KillZombiesResult>;
  /** Lazarus's pass: reschedule (at most 3 times, then fail) quiet Submitted/Running runs. */
  resurrectRuns(options: ResurrectRunsOptions): Promise<ResurrectRunsResult>;
  /** End a run whose process is gone or was killed (Failed/Cancelled), with its unfinished task runs. */
  endAbandonedRun(input: EndAbandonedRunInput): Promise<EndAbandonedRunResult>;
  /** Rename a project and/or change its description (an existing name is a Conflict). */
  updateProject(projectId: string, patch: { name?: string; description?: string | null }): Promise<{ id: string }>;
  /** Delete a project with its flows and their runs. */
  deleteProject(projectId: string): Promise<void>;
  /** Move one flow version to another project. */
  updateFlowProject(flowId: string, projectId: string): Promise<{ id: string }>;
  setFlowGroupDescription(flowGroupId: string, description: string | null): Promise<void>;
  /** null clears it (runs fall back to the flow's run config). */
  setFlowGroupRunConfig(flowGroupId: string, runConfig: unknown): Promise<void>;
  /** Delete a flow group with all its flow versions and their runs. */
  deleteFlowGroup(flowGroupId: string): Promise<void>;
  deleteAgent(agentId: string): Promise<void>;
  /** Name must be non-empty. */
  setFlowRunName(flowRunId: string, name: string): Promise<void>;
  setTaskRunName(taskRunId: string, name: string): Promise<void>;
  /** Replace a run's labels (stored sorted, deduplicated). */
  setFlowRunLabels(flowRunId: string, labels: string[]): Promise<void>;
  /** Delete a flow run with its task runs, states and logs, in one transaction. */
  deleteFlowRun(flowRunId: string): Promise<void>;
  getTaskRunInfo(taskRunId: string): Promise<TaskRunInfo>;
  /** The summary of a mapped task run's children. */
  mappedChildren(taskRunId: string): Promise<MappedChildrenSummary>;
}

export interface ServicesOptions {
  /** The clock every rule reads; tests inject one. Default: the system clock. */
  now?: () => Date;
  /** Upcoming runs kept per active schedule (default 10; the runtime passes settings.schedulerMaxRuns()). */
  maxScheduledRuns?: number;
}

export function createServices(store: Store, options: ServicesOptions = {}): Services {
  const now = options.now ?? (() => new Date());
  const deps = { store, now, maxScheduledRuns: options.maxScheduledRuns ?? 10 };
  const parts = {
    now,
    ...createProjectService(deps),
    ...createArtifactService(deps),
    ...createFlowService(deps),
    ...createFlowRunService(deps),
    ...createStateService(deps),
    ...createRestartService(deps),
    ...createTaskRunService(deps),
    ...createLogService(deps),
    ...createAgentService(deps),
    ...createAgentConfigService(deps),
    ...createRunWaitService(deps),
    ...createHeartbeatService(deps),
    ...createFlowGroupService(deps),
    ...createScheduleService(deps),
    ...createSchedulingService(deps),
    ...createSafeguardService(deps),
    ...createRunEditService(deps),
    ...createFlowEditService(deps),
  };
  return { ...parts, ...createRunBatchService(deps, parts) };
}
