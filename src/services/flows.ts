import { newId } from "./ids.ts";
import { notFoundError, validationError } from "../core/errors.ts";
import { serializedHash, type SerializedFlow } from "../core/serialize.ts";
import { PREFECTLITE_VERSION } from "../core/version.ts";
import type { FlowGroupRecord, FlowGroupSettings, NewEdge, NewTask } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { scheduleFlowRunsNow } from "./schedule-runs.ts";
import { scheduleLeftOffReason } from "./schedules.ts";
import { typedRunConfig } from "./run-config.ts";
import { parseSerializedFlow, serializedFlowValue } from "./serialized-flow.ts";
import { decompressSerializedFlow, isPrefectCoreForm, parsePrefectEdges, parsePrefectFlow, parsePrefectTasks, type PrefectTaskEntry } from "./prefect-flow.ts";
import { serverState } from "./state-input.ts";
import { writeFlowRunState } from "./states.ts";
import type { CreateFlowInput, CreateFlowResult, RegisterFlowPartsInput } from "./types.ts";
import { describe, isPlainObject, optionalString, requireUuid } from "./validate.ts";
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
    const { serialized, stored, hash } = registration(input.compressed ? decompressSerializedFlow(input.serializedFlow) : input.serializedFlow);
    const description = optionalString(input.description, "description");
    const projectId = requireUuid(input.projectId, "project_id");
    const key = optionalString(input.idempotencyKey, "idempotency_key");
    const explicitGroup = optionalString(input.versionGroupId, "version_group_id");
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
          serializedFlow: stored,
          storage: serialized.storage ?? null,
          parameters: serialized.parameters ?? [],
          runConfig: stored === serialized ? typedRunConfig(serialized.runConfig ?? null) : (serialized.runConfig as never),
          schedule: serialized.schedule ?? null,
          isScheduleActive: false,
          description,
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

  /**
   * Prefect's register_tasks: add tasks to a flow registered in Prefect Core's form (its client
   * registers the flow, then its tasks and edges in batches). Idempotent: a slug the flow has
   * already is left as it is.
   */
  async function registerTasks(input: RegisterFlowPartsInput): Promise<void> {
    const flowId = requireUuid(input.flowId, "flow_id");
    const entries = parsePrefectTasks(entryList(input.entries, "serialized_tasks"), "serialized_tasks");
    await deps.store.transaction(async () => {
      const { flow, stored } = await requirePrefectFlow(flowId, "register_tasks");
      const known = new Set((await deps.store.flows.tasks(flowId)).map((t) => t.slug));
      const fresh = entries.filter((t) => !known.has(t.slug));
      const now = isoNow(deps);
      await deps.store.flows.insertTasks(fresh.map((t) => taskRow(flowId, t, newId(), { root: true, terminal: true, reference: false })), now);
      await deps.store.flows.refreshTaskGraphFlags(flowId, flow.referenceTasks);
      // As Server: the stored flow gains the tasks, so Prefect's FlowView loads them (and edges learn their argument names).
      const freshSlugs = new Set(fresh.map((t) => t.slug));
      const sent = entryList(input.entries, "serialized_tasks").filter((e) => freshSlugs.has((e as { slug?: unknown }).slug as string));
      await deps.store.flows.setSerializedFlow(flowId, { ...stored, tasks: [...listOf(stored.tasks), ...sent] }, now);
    });
  }

  /** Prefect's register_edges: edges between tasks of the flow, by slug; an unknown slug is refused, a known edge skipped. */
  async function registerEdges(input: RegisterFlowPartsInput): Promise<void> {
    const flowId = requireUuid(input.flowId, "flow_id");
    const entries = entryList(input.entries, "serialized_edges");
    await deps.store.transaction(async () => {
      const { flow, stored } = await requirePrefectFlow(flowId, "register_edges");
      const ids = new Map((await deps.store.flows.tasks(flowId)).map((t) => [t.slug, t.id]));
      const existing = new Set((await deps.store.flows.edges(flowId)).map((e) => `${e.upstreamTaskId} ${e.downstreamTaskId}`));
      const rows = parsePrefectEdges(entries, new Set(ids.keys()), "serialized_edges")
        .map((e) => ({ id: newId(), flowId, upstreamTaskId: ids.get(e.upstream)!, downstreamTaskId: ids.get(e.downstream)!, key: edgeKey(e.key), mapped: e.mapped }))
        .filter((e) => {
          const pair = `${e.upstreamTaskId} ${e.downstreamTaskId}`;
          if (existing.has(pair)) return false;
          existing.add(pair);
          return true;
        });
      const now = isoNow(deps);
      await deps.store.flows.insertEdges(rows, now);
      await deps.store.flows.refreshTaskGraphFlags(flowId, flow.referenceTasks);
      const added = new Set(rows.map((e) => `${e.upstreamTaskId} ${e.downstreamTaskId}`));
      const bySlug = (e: unknown, end: "upstream_task" | "downstream_task") => ids.get(((e as Record<string, { slug?: string }>)[end] ?? {}).slug ?? "");
      const sent = entries.filter((e) => added.delete(`${bySlug(e, "upstream_task")} ${bySlug(e, "downstream_task")}`));
      await deps.store.flows.setSerializedFlow(flowId, { ...stored, edges: [...listOf(stored.edges), ...sent] }, now);
    });
  }

  /** The flow, in its internal shape, when it was registered in Prefect Core's form. */
  async function requirePrefectFlow(flowId: string, mutation: string) {
    await deps.store.lock.flow(flowId, "update");
    const stored = await deps.store.flows.serializedFlow(flowId);
    if (stored === undefined) throw notFoundError(`Flow ${flowId} not found`);
    if (!isPrefectCoreForm(stored)) {
      throw validationError(`${mutation} adds to flows registered in Prefect Core's form; flow ${flowId} was registered by prefectlite with all its tasks`);
    }
    return { flow: parsePrefectFlow(stored as Record<string, unknown>), stored: stored as Record<string, unknown> };
  }

  return { createFlow, archiveFlow, deleteFlow, registerTasks, registerEdges };
}

/**
 * What a registration stores: the internal shape that rows are made from, the serialized flow
 * kept as sent (Prefect's readers load a Python flow's own form), and the hash of its identity.
 */
function registration(value: unknown): { serialized: SerializedFlow; stored: unknown; hash: string } {
  const raw = serializedFlowValue(value);
  if (isPrefectCoreForm(raw)) {
    const serialized = parsePrefectFlow(raw as Record<string, unknown>);
    const { storage: _storage, __version__: _version, ...identity } = raw as Record<string, unknown>;
    return { serialized, stored: raw, hash: serializedHash(identity as unknown as SerializedFlow) };
  }
  const serialized = parseSerializedFlow(raw);
  return { serialized, stored: serialized, hash: serializedHash(serialized) };
}

function entryList(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw validationError(`${field} must be a list, got ${describe(value)}`);
  if (value.some((e) => !isPlainObject(e))) throw validationError(`${field} must be a list of objects`);
  return value;
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
  const tasks = serialized.tasks.map((t) =>
    taskRow(flowId, t, ids.get(t.slug)!, {
      root: !hasUpstream.has(t.slug),
      terminal: !hasDownstream.has(t.slug),
      reference: reference.size ? reference.has(t.slug) : !hasDownstream.has(t.slug),
    }),
  );
  const edges = serialized.edges.map((e) => ({
    id: newId(),
    flowId,
    upstreamTaskId: ids.get(e.upstream)!,
    downstreamTaskId: ids.get(e.downstream)!,
    key: edgeKey(e.key),
    mapped: e.mapped === true,
  }));
  return { tasks, edges };
}

/** An edge row's key, text as Server's: a Python flow's argument name, a TypeScript task's argument position. */
function edgeKey(key: unknown): string | null {
  if (typeof key === "string") return key;
  return typeof key === "number" && Number.isInteger(key) ? String(key) : null;
}

/** A task row from a serialized task entry (prefectlite's, or Prefect's mapped to the same shape). */
function taskRow(flowId: string, t: SerializedFlow["tasks"][number], id: string, graph: { root: boolean; terminal: boolean; reference: boolean }): NewTask {
  const prefectType = (t as Partial<PrefectTaskEntry>).prefectType;
  return {
    id,
    flowId,
    slug: t.slug,
    name: t.name,
    // A Python task's row keeps Prefect's task class, as Prefect Server's did.
    type: (prefectType ?? t.kind) as NewTask["type"],
    maxRetries: numberOr(t.maxRetries, 0),
    retryDelayMs: numberOr(t.retryDelayMs, 0),
    timeoutMs: typeof t.timeoutMs === "number" ? t.timeoutMs : null,
    trigger: typeof t.trigger === "string" ? t.trigger : "all_successful",
    mapped: t.mapped === true,
    isRootTask: graph.root,
    isTerminalTask: graph.terminal,
    isReferenceTask: graph.reference,
    tags: Array.isArray(t.tags) ? t.tags.filter((x) => typeof x === "string") : [],
    ...prefectTaskFields(t as unknown as Record<string, unknown>),
  };
}

const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function numberOr(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw validationError(`task field must be a non-negative number, got ${value}`);
  return value;
}
