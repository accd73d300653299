import type { SerializedSchedule } from "../core/schedule/schedule.ts";
import type { FlowRuntime } from "../core/serialize.ts";
import type { StateType } from "../core/state.ts";
import type {
  AgentConfigRecord,
  AgentRecord,
  EdgeRecord,
  FlowGroupRecord,
  FlowRecord,
  FlowRunRecord,
  NewEdge,
  NewFlow,
  NewFlowRun,
  NewLog,
  NewTask,
  NewTaskRun,
  ProjectRecord,
  StateWrite,
  TaskRecord,
  TaskRunRecord,
  TaskRunWriteView,
} from "./records.ts";

export type * from "./records.ts";

/**
 * Everything services may ask of storage: one repository per table group, a write transaction,
 * row locks, run events and loop exclusion. No SQL crosses this line: SQLite (sqlite/) and
 * PostgreSQL (postgres/) implement it. Every method returns a promise.
 */

export type StoreDialect = "sqlite" | "postgres";

/** A hint that runs may have become due: the earliest start time among them and their labels. */
export interface RunsChanged {
  at: string;
  labels: readonly string[];
}

export type LoopName = "scheduler" | "zombie-killer" | "lazarus";

export interface Store {
  readonly dialect: StoreDialect;
  /**
   * One write transaction; a throw rolls it back. Nested calls join it as a savepoint (so a nested
   * failure caught by the caller rolls back alone — required on PostgreSQL, where an error aborts
   * the transaction). SQLite: serialized through the process's one write queue; fn must settle
   * within its turn of the event loop (await only store calls). PostgreSQL: READ COMMITTED on a
   * pooled connection found through AsyncLocalStorage; 40001/40P01 retry the whole fn up to 3 times.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the caller is inside a transaction (bulk work splits itself only outside one). */
  inTransaction(): boolean;
  /**
   * Row locks taken at the start of a transaction, before its checks. SQLite: no-ops (writers are
   * serial). PostgreSQL: SELECT … FOR SHARE / FOR UPDATE of that row.
   */
  lock: {
    /** register, group settings/schedule */
    flowGroup(id: string): Promise<void>;
    /** scheduler & run creation: share; archive/deactivate: update */
    flow(id: string, mode: "share" | "update"): Promise<void>;
    /** task-run batches: share; flow-run states, cancel: update */
    flowRun(id: string, mode: "share" | "update"): Promise<void>;
    /**
     * A flow name in a project, before there may be a row to lock (the first registration of a
     * name picks its version group). PostgreSQL: a transaction-scoped advisory lock on the pair.
     */
    flowName(projectId: string, name: string): Promise<void>;
    /** register_agent with a config (share), so the config is not deleted before the agent links to it */
    agentConfig(id: string): Promise<void>;
  };
  /**
   * Runs may have become due. Called inside the writing transaction; delivered to subscribers of
   * EVERY process on the database after commit, never on rollback (SQLite: this process's
   * subscribers; PostgreSQL: NOTIFY prefectlite_runs). `subscribe`'s onReady is called at
   * subscribe and after a lost listen connection comes back, for catch-up.
   */
  events: {
    runsChanged(hint: RunsChanged): Promise<void>;
    subscribe(listener: (hint: RunsChanged) => void, onReady?: () => void): () => void;
  };
  /**
   * Run one pass of a loop unless another process is running that pass now (PostgreSQL:
   * pg_try_advisory_xact_lock(hashtext('prefectlite:' || loop)) in its own transaction held for
   * the pass; SQLite: always runs). Correctness never depends on it (the writes are idempotent).
   */
  exclusive<T>(loop: LoopName, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  projects: ProjectRepository;
  flows: FlowRepository;
  flowRuns: FlowRunRepository;
  taskRuns: TaskRunRepository;
  logs: LogRepository;
  agents: AgentRepository;
  /** Prefect Server's agent configs. */
  agentConfigs: AgentConfigRepository;
  schedules: ScheduleRepository;
  /** The reads of the zombie killer and Lazarus. */
  safeguards: SafeguardRepository;
  /** Prefect Server's task run artifacts. */
  artifacts: ArtifactRepository;
}

export interface NewArtifact {
  id: string;
  taskRunId: string;
  kind: string;
  data: unknown;
}

export interface ArtifactRepository {
  insert(artifact: NewArtifact, now: string): Promise<void>;
  /** False when there is no artifact with this id. */
  update(id: string, data: unknown, now: string): Promise<boolean>;
  /** False when there is no artifact with this id. */
  delete(id: string): Promise<boolean>;
}

export interface ProjectRepository {
  get(id: string): Promise<ProjectRecord | undefined>;
  findByName(name: string): Promise<ProjectRecord | undefined>;
  insert(project: ProjectRecord, now: string): Promise<void>;
  /** The existing project of that name, or this one inserted (race-free). */
  insertIfAbsent(project: ProjectRecord, now: string): Promise<ProjectRecord>;
  /** Change the name and/or description; "missing" for no such project, "name-taken" when another project has the name. */
  update(id: string, patch: Partial<Pick<ProjectRecord, "name" | "description">>, now: string): Promise<"updated" | "missing" | "name-taken">;
  /** Delete the project (its flows, their runs, cascade); false for no such project. */
  delete(id: string): Promise<boolean>;
}

/** Flow groups, flows (versions), their tasks and edges. */
export interface FlowRepository {
  get(id: string): Promise<FlowRecord | undefined>;
  /** The most recently created flow of that name in that project (any version, archived or not). */
  latestByProjectAndName(projectId: string, name: string): Promise<FlowRecord | undefined>;
  /** The highest-version unarchived flow of a group. */
  newestUnarchived(by: { flowGroupId: string } | { versionGroupId: string }): Promise<FlowRecord | undefined>;
  /** The highest-version flow of a group, archived or not. */
  newest(flowGroupId: string): Promise<FlowRecord | undefined>;
  unarchivedIds(flowGroupId: string): Promise<string[]>;
  maxVersion(flowGroupId: string): Promise<number>;
  insert(flow: NewFlow, now: string): Promise<void>;
  insertTasks(tasks: NewTask[], now: string): Promise<void>;
  insertEdges(edges: NewEdge[], now: string): Promise<void>;
  /**
   * Set the flow's root, terminal and reference flags from its edges (reference: the slugs
   * given, or the terminal tasks when none), for tasks and edges registered after the flow.
   */
  refreshTaskGraphFlags(flowId: string, referenceSlugs: readonly string[]): Promise<void>;
  setArchived(id: string, archived: boolean, now: string): Promise<void>;
  setScheduleActive(id: string, active: boolean, now: string): Promise<void>;
  delete(id: string): Promise<void>;
  tasks(flowId: string): Promise<TaskRecord[]>;
  /** The flow's task graph: which task feeds which (by task id). */
  edges(flowId: string): Promise<EdgeRecord[]>;
  findTask(flowId: string, by: { id: string } | { slug: string }): Promise<TaskRecord | undefined>;
  /** The flow as it was registered (the JSON of `Flow.serialize()`), parsed; undefined for no such flow. */
  serializedFlow(id: string): Promise<unknown>;
  /** Replace the stored serialized flow (Prefect's register_tasks/register_edges add to it). */
  setSerializedFlow(id: string, serialized: unknown, now: string): Promise<void>;

  getGroup(id: string): Promise<FlowGroupRecord | undefined>;
  getGroupByName(name: string): Promise<FlowGroupRecord | undefined>;
  insertGroup(group: FlowGroupRecord, now: string): Promise<void>;
  /** The existing group of that name, or this one inserted (race-free). */
  insertGroupIfAbsent(group: FlowGroupRecord, now: string): Promise<FlowGroupRecord>;
  updateGroup(id: string, patch: FlowGroupPatch, now: string): Promise<void>;
  /** Move one flow version to another project; false for no such flow. */
  setProject(id: string, projectId: string, now: string): Promise<boolean>;
  /** Ids of every flow (version) of a group, archived or not. */
  idsInGroup(flowGroupId: string): Promise<string[]>;
  /** Delete the group (its flows and their runs, cascade); false for no such group. */
  deleteGroup(id: string): Promise<boolean>;
}

export type FlowGroupPatch = Partial<Pick<FlowGroupRecord, "settings" | "labels" | "defaultParameters" | "runConfig">> & {
  description?: string | null;
};

export interface QueueQuery {
  /** Due means a (task-run) state start time at or before this. */
  before: string;
  /** Only runs whose labels are all among these. */
  labels: string[];
  limit: number;
  /** Only runs of flows this engine executes (core/serialize.ts `FlowRuntime`); default any. */
  runtime?: FlowRuntime;
  /** Also Running runs with a due task run: Scheduled/Retrying, or resumed from Prefect's Paused (default true; claims pass false). */
  includeRunning?: boolean;
  /**
   * Inside a transaction, also lock the due runs for it, skipping rows another transaction holds
   * (PostgreSQL `FOR UPDATE OF fr SKIP LOCKED`; SQLite: no-op, writers are serial).
   */
  claim?: boolean;
}

/** Flow runs and their state history. */
export interface FlowRunRepository {
  get(id: string): Promise<FlowRunRecord | undefined>;
  findByIdempotencyKey(flowId: string, key: string): Promise<FlowRunRecord | undefined>;
  /** The run and its first state (history row included). */
  insert(run: NewFlowRun, now: string): Promise<void>;
  /**
   * Insert the run unless the flow has a run with its idempotency key (race-free); a run without a
   * key is always inserted. Returns the id of the run that holds the key and whether it is this one.
   */
  insertIfAbsent(run: NewFlowRun, now: string): Promise<{ id: string; created: boolean }>;
  /** Versioned write; a stale `expectedVersion` throws VersionConflict. Returns the new version. */
  writeState(id: string, expectedVersion: number, write: StateWrite): Promise<number>;
  /** The stored state write with this id (its flow run and the version it made), if any. */
  writtenState(writeId: string): Promise<{ runId: string; version: number } | undefined>;
  /** False when there is no such run. */
  setHeartbeat(id: string, at: string): Promise<boolean>;
  /** Ids of a flow's runs in state Scheduled, ad-hoc or auto-scheduled. */
  scheduledRunIds(flowId: string, autoScheduled: boolean): Promise<string[]>;
  delete(ids: readonly string[]): Promise<void>;
  /** Up to `limit` ids of a flow's runs (any state), for deleting them a slice at a time. */
  someRunIds(flowId: string, limit: number): Promise<string[]>;
  /**
   * Ready a finished run to run again: these labels, no agent, no end time, and Lazarus's count
   * back to 0 (the new attempt gets its own rescheduling budget).
   */
  prepareRestart(id: string, labels: readonly string[]): Promise<void>;
  /** Due Scheduled runs, and Running runs with a due Scheduled/Retrying task run, oldest first. */
  queue(query: QueueQuery): Promise<FlowRunRecord[]>;
  /** The run's run config (null when it has none or there is no such run). */
  runConfig(id: string): Promise<unknown>;
  /** False when there is no such run. */
  setName(id: string, name: string, now: string): Promise<boolean>;
  /** Replace the run's labels (sorted by the caller); false when there is no such run. */
  setLabels(id: string, labels: readonly string[], now: string): Promise<boolean>;
}

/** Task runs and their state history. */
export interface TaskRunRepository {
  get(id: string): Promise<TaskRunRecord | undefined>;
  /** What a state write checks (no JSON parsed): id, flow run, task slug, version, state. */
  getForWrite(id: string): Promise<TaskRunWriteView | undefined>;
  /** A task run by its task's slug (unique within its flow) and map index. */
  find(flowRunId: string, taskSlug: string, mapIndex: number): Promise<TaskRunRecord | undefined>;
  /** Insert the task runs that do not exist yet (by flow run, task, map index); returns how many were new. */
  insertMissing(runs: readonly NewTaskRun[], now: string): Promise<number>;
  /** Task runs of a task with map index in [from, to), by map index. */
  range(flowRunId: string, taskSlug: string, from: number, to: number): Promise<TaskRunRecord[]>;
  /** Every task run of a flow run, by task slug and map index. */
  ofFlowRun(flowRunId: string): Promise<TaskRunRecord[]>;
  /** Forget when these task runs started and ended (they are about to run again). */
  clearTimes(ids: readonly string[]): Promise<void>;
  /** Task runs of a flow run not in a finished state. */
  unfinished(flowRunId: string): Promise<TaskRunRecord[]>;
  writeState(id: string, expectedVersion: number, write: StateWrite): Promise<number>;
  /** States one after another from `expectedVersion` (a history row each, one UPDATE); returns the new version. */
  writeStates(id: string, expectedVersion: number, writes: readonly StateWrite[]): Promise<number>;
  /** The stored state write with this id (its task run and the version it made), if any. */
  writtenState(writeId: string): Promise<{ runId: string; version: number } | undefined>;
  setHeartbeat(id: string, at: string): Promise<boolean>;
  /** False when there is no such task run. */
  setName(id: string, name: string, now: string): Promise<boolean>;
  /**
   * The mapped children of a task run (same flow run and task, map index >= 0) summed up; only a
   * parent (map index -1) has children. Undefined when there is no such task run.
   */
  mappedChildren(taskRunId: string): Promise<MappedChildrenSummary | undefined>;
}

export interface MappedChildrenSummary {
  minStartTime: string | null;
  maxEndTime: string | null;
  /** How many children are in each state. */
  stateCounts: Record<string, number>;
}

export interface LogRepository {
  /**
   * Insert the logs whose flow run (and task run, when given, of that flow run) exist; the others
   * are skipped, and so is a line whose id is stored already (a writer's retry of a write whose
   * answer it lost: the id is the writer's own). Returns how many were written. Call it inside a
   * transaction (the checks and the inserts must see the same runs).
   */
  insertValid(logs: NewLog[], now: string): Promise<number>;
}

export interface AgentRepository {
  get(id: string): Promise<AgentRecord | undefined>;
  /** The agent with exactly this identity (labels sorted by the caller). */
  findIdentity(identity: Pick<AgentRecord, "name" | "type" | "coreVersion" | "labels">): Promise<AgentRecord | undefined>;
  insert(agent: AgentRecord, now: string): Promise<void>;
  /**
   * The agent of this identity (name, type, sorted labels, core version), now linked to this
   * one's agent config (the latest registration says which config it runs with); or this one
   * inserted. Race-free.
   */
  register(agent: AgentRecord, now: string): Promise<AgentRecord>;
  touch(id: string, at: string): Promise<void>;
  /** False when there is no such agent (its runs keep their history, with no agent). */
  delete(id: string): Promise<boolean>;
}

export interface AgentConfigRepository {
  get(id: string): Promise<AgentConfigRecord | undefined>;
  insert(config: AgentConfigRecord, now: string): Promise<void>;
  /** Change the name and/or settings; false when there is no such config. */
  update(id: string, patch: Partial<Pick<AgentConfigRecord, "name" | "settings">>, now: string): Promise<boolean>;
  /** False when there is no such config; agents linked to it keep going with none. */
  delete(id: string): Promise<boolean>;
}

/** An active, unarchived flow with a schedule (its own or its group's), and how many runs it has ahead. */
export interface ActiveSchedule {
  flowId: string;
  /** Auto-scheduled runs of the flow starting after `now` (any state). */
  upcoming: number;
}

/** What the scheduler asks of storage: cheap summaries, so a pass over 1,000 schedules costs little. */
export interface ScheduleRepository {
  /** Every active, unarchived flow that has a schedule, with its count of upcoming auto-scheduled runs. */
  active(now: string): Promise<ActiveSchedule[]>;
  /** The latest scheduled start of a flow's auto-scheduled runs, or undefined. */
  lastAutoScheduledStart(flowId: string): Promise<string | undefined>;
  /**
   * The earliest start time strictly after `after` of a flow run waiting to start (Scheduled,
   * Queued or Retrying), or of a waiting task run of a Running flow run.
   */
  nextDueAfter(after: string): Promise<string | undefined>;
  setGroupSchedule(flowGroupId: string, schedule: SerializedSchedule | null, now: string): Promise<void>;
}

/**
 * A run's last sign of life is its heartbeat, or, when it never beat, the time of its state. A
 * flow group's switches live in its settings JSON (`heartbeat_enabled`, `lazarus_enabled`); a
 * missing switch counts as on.
 */
/** A Running task run of a flow run that has stopped beating. */
export interface ZombieTaskRun {
  id: string;
  flowRunId: string;
  flowRunState: StateType;
  taskSlug: string;
  version: number;
  maxRetries: number;
  retryDelayMs: number;
  /** How many times it has entered Running (its attempts so far, the lost one included). */
  attempts: number;
}

/** A flow run the zombie killer or Lazarus may act on. */
export interface StaleFlowRun {
  id: string;
  version: number;
  state: StateType;
  timesResurrected: number;
}

export interface SafeguardRepository {
  /** Running task runs of Running/Submitted flow runs silent since before `cutoff`, heartbeats on. */
  zombieTaskRuns(cutoff: string, limit: number): Promise<ZombieTaskRun[]>;
  /** Cancelling flow runs silent since before `cutoff`, heartbeats on. */
  silentCancellingRuns(cutoff: string, limit: number): Promise<StaleFlowRun[]>;
  /**
   * Submitted/Running flow runs silent since before `cutoff`, with no task run Running, whose
   * flow group has neither heartbeats nor Lazarus switched off; least recently updated first.
   */
  lazarusCandidates(cutoff: string, limit: number): Promise<StaleFlowRun[]>;
  /** The run as Lazarus sees it now (inside the caller's transaction). */
  staleRun(id: string): Promise<StaleFlowRun | undefined>;
  incrementTimesResurrected(id: string): Promise<void>;
  /** Replace the run's labels (Lazarus dropping an agentless run's label to hand it to agents). */
  setLabels(id: string, labels: readonly string[]): Promise<void>;
}
