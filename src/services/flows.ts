import { newId } from "./ids.ts";
import { notFoundError, validationError } from "../core/errors.ts";
import { serializedHash, type SerializedFlow } from "../core/serialize.ts";
import { PREFECTLITE_VERSION } from "../core/version.ts";
import type { FlowGroupRecord, FlowGroupSettings, NewEdge, NewTask } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { scheduleFlowRunsNow } from "./schedule-runs.ts";
import { scheduleLeftOffReason } from "./schedules.ts";
import { typedRunConfig } from "./run-config.ts";
import { parseSerializedFlow } from "./serialized-flow.ts";
import { serverState } from "./state-input.ts";
import { writeFlowRunState } from "./states.ts";
import type { CreateFlowInput, CreateFlowResult } from "./types.ts";
import { optionalString, requireUuid } from "./validate.ts";
import { inTransactions } from "./chunks.ts";

/** Runs deleted or cancelled per transaction: a run may carry many task runs, states and logs. */
const RUNS_PER_TRANSACTION = 100;

export const DEFAULT_FLOW_GROUP_SETTINGS = {
  heartbeat_enabled: true,
  lazarus_enabled: true,
  version_locking_enabled: false,
};

/** Registration (versions, groups, idempotency), archiving and deleting flows. */
export function createFlowService(deps: ServiceDeps) {
  async function createFlow(input: CreateFlowInput): Promise<CreateFlowResult> {
    const serialized = parseSerializedFlow(input.serializedFlow);
    const projectId = requireUuid(input.projectId, "project_id");
    const key = optionalString(input.idempotencyKey, "idempotency_key");
    const explicitGroup = optionalString(input.versionGroupId, "version_group_id");
    const hash = serializedHash(serialized);
    const now = isoNow(deps);

    return await deps.store.transaction(async () => {
      if (!(await deps.store.projects.get(projectId))) throw notFoundError(`Project ${projectId} not found (invalid project)`);
      // Two first registrations of a name must pick one version group: the name is locked
      // before the newest flow of that name is looked up.
      if (explicitGroup === null) await deps.store.lock.flowName(projectId, serialized.name);
      const versionGroupId =
        explicitGroup ?? (await deps.store.flows.latestByProjectAndName(projectId, serialized.name))?.versionGroupId ?? newId();
      const fresh = newFlowGroup(versionGroupId, key);
      // Race-free: two processes registering the first version of a group share one group.
      let group = await deps.store.flows.insertGroupIfAbsent(fresh, now);
      await deps.store.lock.flowGroup(group.id);
      if (group.id !== fresh.id) {
        // Read again under the lock: another registration may have changed it since.
        group = (await deps.store.flows.getGroup(group.id))!;
        if (key !== null && group.settings.idempotency_key === key) {
          const existing = await deps.store.flows.newestUnarchived({ flowGroupId: group.id });
          if (existing) return { id: existing.id, version: existing.version, created: false };
        }
        await deps.store.flows.updateGroup(group.id, { settings: { ...group.settings, idempotency_key: key } }, now);
      }
      const id = newId();
      const version = (await deps.store.flows.maxVersion(group.id)) + 1;
      for (const previous of await deps.store.flows.unarchivedIds(group.id)) await archive(previous, now);
      await deps.store.flows.insert(
        {
          id,
          name: serialized.name,
          version,
          versionGroupId,
          flowGroupId: group.id,
          projectId,
          archived: false,
          coreVersion: typeof serialized.coreVersion === "string" && serialized.coreVersion ? serialized.coreVersion : PREFECTLITE_VERSION,
          serializedHash: hash,
          serializedFlow: serialized,
          storage: serialized.storage ?? null,
          parameters: serialized.parameters ?? [],
          runConfig: typedRunConfig(serialized.runConfig ?? null),
          schedule: serialized.schedule ?? null,
          isScheduleActive: false,
          description: null,
        },
        now,
      );
      const { tasks, edges } = taskRows(id, serialized);
      await deps.store.flows.insertTasks(tasks, now);
      await deps.store.flows.insertEdges(edges, now);
      const flow = (await deps.store.flows.get(id))!;
      // Like Prefect Server: a schedule that cannot be activated leaves the flow registered, inactive (and says why).
      const scheduleLeftOff = input.setScheduleActive !== false ? scheduleLeftOffReason(flow, group) : null;
      if (input.setScheduleActive !== false && (group.schedule ?? flow.schedule) && !scheduleLeftOff) {
        await deps.store.flows.setScheduleActive(id, true, now);
        await scheduleFlowRunsNow(deps, id, deps.maxScheduledRuns);
      }
      return { id, version, created: true, scheduleLeftOff };
    });
  }

  /**
   * Archive a flow: it keeps its history and refuses new runs; its auto-scheduled runs still
   * Scheduled are deleted and its ad-hoc Scheduled runs cancelled. Running runs are left alone.
   */
  async function archive(flowId: string, now: string): Promise<void> {
    await deps.store.lock.flow(flowId, "update");
    await deps.store.flows.setArchived(flowId, true, now);
    await deps.store.flows.setScheduleActive(flowId, false, now);
    await deps.store.flowRuns.delete(await deps.store.flowRuns.scheduledRunIds(flowId, true));
    for (const runId of await deps.store.flowRuns.scheduledRunIds(flowId, false)) {
      const run = (await deps.store.flowRuns.get(runId))!;
      await writeFlowRunState(deps, run, run.version, serverState("Cancelled", `Flow ${flowId} was archived.`, now));
    }
  }

  /**
   * Archive a flow. Called on its own (not inside a mutation document's transaction), the flow
   * is archived first and its ad-hoc Scheduled runs cancelled a slice at a time afterwards, so
   * that a flow with thousands of waiting runs does not hold the write lock for seconds.
   */
  async function archiveFlow(flowId: string): Promise<void> {
    const id = requireUuid(flowId, "flow_id");
    if (deps.store.inTransaction()) {
      await deps.store.lock.flow(id, "update");
      const flow = await deps.store.flows.get(id);
      if (!flow) throw notFoundError(`Flow ${id} not found`);
      if (!flow.archived) await archive(id, isoNow(deps));
      return;
    }
    const archivedNow = await deps.store.transaction(async () => {
      await deps.store.lock.flow(id, "update");
      const flow = await deps.store.flows.get(id);
      if (!flow) throw notFoundError(`Flow ${id} not found`);
      if (flow.archived) return false;
      const now = isoNow(deps);
      await deps.store.flows.setArchived(id, true, now);
      await deps.store.flows.setScheduleActive(id, false, now);
      return true;
    });
    // Archived: no run of it is created any more, and the slices below finish the job (a retry
    // of an archive that failed midway finds the flow archived and leaves the rest as it is).
    if (!archivedNow) return;
    await inTransactions(deps.store, await deps.store.flowRuns.scheduledRunIds(id, true), RUNS_PER_TRANSACTION, (ids) => deps.store.flowRuns.delete(ids));
    await inTransactions(deps.store, await deps.store.flowRuns.scheduledRunIds(id, false), RUNS_PER_TRANSACTION, async (ids) => {
      for (const runId of ids) await cancelArchived(id, runId, isoNow(deps));
    });
  }

  async function cancelArchived(flowId: string, runId: string, now: string): Promise<void> {
    await deps.store.lock.flowRun(runId, "update");
    const run = await deps.store.flowRuns.get(runId);
    // Taken by an agent (or cancelled) since the list was read: left to its new owner.
    if (!run || run.state !== "Scheduled") return;
    await writeFlowRunState(deps, run, run.version, serverState("Cancelled", `Flow ${flowId} was archived.`, now));
  }

  /**
   * Delete a flow version with its tasks, runs and their history. Called on its own, its runs
   * (each with its task runs, states and logs) go first, a slice per transaction, then the
   * flow: a delete that failed midway leaves the flow with fewer runs, and is simply repeated.
   */
  async function deleteFlow(flowId: string): Promise<void> {
    const id = requireUuid(flowId, "flow_id");
    if (!(await deps.store.flows.get(id))) throw notFoundError(`Flow ${id} not found`);
    if (!deps.store.inTransaction()) {
      for (let ids = await deps.store.flowRuns.someRunIds(id, RUNS_PER_TRANSACTION); ids.length; ids = await deps.store.flowRuns.someRunIds(id, RUNS_PER_TRANSACTION)) {
        await deps.store.transaction(async () => await deps.store.flowRuns.delete(ids));
      }
    }
    await deps.store.transaction(async () => {
      if (!(await deps.store.flows.get(id))) throw notFoundError(`Flow ${id} not found`);
      await deps.store.flows.delete(id);
    });
  }

  return { createFlow, archiveFlow, deleteFlow };
}

function newFlowGroup(name: string, key: string | null): FlowGroupRecord {
  return {
    id: newId(),
    name,
    labels: null,
    schedule: null,
    settings: { ...DEFAULT_FLOW_GROUP_SETTINGS, idempotency_key: key } satisfies FlowGroupSettings,
    defaultParameters: {},
    runConfig: null,
  };
}

/** The task columns Prefect's serialized tasks may carry (absent: their defaults). */
function prefectTaskFields(t: Record<string, unknown>): Pick<NewTask, "description" | "autoGenerated" | "cacheKey"> {
  return {
    description: typeof t.description === "string" ? t.description : null,
    autoGenerated: t.auto_generated === true,
    cacheKey: typeof t.cache_key === "string" ? t.cache_key : null,
  };
}

/** Task and edge rows of a flow version: root, terminal and reference flags from the graph. */
function taskRows(flowId: string, serialized: SerializedFlow): { tasks: NewTask[]; edges: NewEdge[] } {
  const ids = new Map(serialized.tasks.map((t) => [t.slug, newId()]));
  const hasUpstream = new Set(serialized.edges.map((e) => e.downstream));
  const hasDownstream = new Set(serialized.edges.map((e) => e.upstream));
  const reference = new Set(serialized.referenceTasks ?? []);
  const tasks = serialized.tasks.map((t) => ({
    id: ids.get(t.slug)!,
    flowId,
    slug: t.slug,
    name: t.name,
    type: t.kind,
    maxRetries: numberOr(t.maxRetries, 0),
    retryDelayMs: numberOr(t.retryDelayMs, 0),
    timeoutMs: typeof t.timeoutMs === "number" ? t.timeoutMs : null,
    trigger: typeof t.trigger === "string" ? t.trigger : "all_successful",
    mapped: t.mapped === true,
    isRootTask: !hasUpstream.has(t.slug),
    isTerminalTask: !hasDownstream.has(t.slug),
    isReferenceTask: reference.size ? reference.has(t.slug) : !hasDownstream.has(t.slug),
    tags: Array.isArray(t.tags) ? t.tags.filter((x) => typeof x === "string") : [],
    ...prefectTaskFields(t as unknown as Record<string, unknown>),
  }));
  const edges = serialized.edges.map((e) => ({
    id: newId(),
    flowId,
    upstreamTaskId: ids.get(e.upstream)!,
    downstreamTaskId: ids.get(e.downstream)!,
    key: typeof e.key === "number" ? e.key : null,
    mapped: e.mapped === true,
  }));
  return { tasks, edges };
}

function numberOr(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw validationError(`task field must be a non-negative number, got ${value}`);
  return value;
}
