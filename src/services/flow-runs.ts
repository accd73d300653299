import { newId } from "./ids.ts";
import { notFoundError, validationError } from "../core/errors.ts";
import { resolveParameters } from "../core/parameters.ts";
import { generateRunName } from "../core/run-names.ts";
import type { FlowRecord, RunConfigRecord } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { resolveRunConfig, resolveRunLabels } from "./labels.ts";
import { checkRunConfig, checkRunConfigType, typedRunConfig } from "./run-config.ts";
import { serverState, stateWrite } from "./state-input.ts";
import type { CreateFlowRunInput, CreateFlowRunResult } from "./types.ts";
import { normalizeLabels, optionalObject, optionalString, requireTime, requireUuid } from "./validate.ts";

/** Creating flow runs: which flow, parameters, labels, run config, name, idempotency, first state, task runs. */
export function createFlowRunService(deps: ServiceDeps) {
  async function createFlowRun(input: CreateFlowRunInput): Promise<CreateFlowRunResult> {
    const parameters = optionalObject(input.parameters, "parameters");
    const context = optionalObject(input.context, "context") ?? {};
    const passedRunConfig = optionalObject(input.runConfig, "run_config") as RunConfigRecord | null;
    checkRunConfig(passedRunConfig, "run_config");
    checkRunConfigType(passedRunConfig, "run_config");
    const explicitLabels = input.labels == null ? null : normalizeLabels(input.labels);
    const name = optionalString(input.flowRunName, "flow_run_name");
    const idempotencyKey = optionalString(input.idempotencyKey, "idempotency_key");
    const now = isoNow(deps);
    const scheduledStartTime = input.scheduledStartTime == null ? now : requireTime(input.scheduledStartTime, "scheduled_start_time");

    return await deps.store.transaction(async () => {
      const flow = await resolveFlow(deps, input);
      if (idempotencyKey !== null) {
        const existing = await deps.store.flowRuns.findByIdempotencyKey(flow.id, idempotencyKey);
        if (existing) return { id: existing.id, created: false };
      }
      const group = (await deps.store.flows.getGroup(flow.flowGroupId))!;
      const resolvedParameters = resolveParameters(flow.name, flow.parameters, group.defaultParameters, parameters);
      const labels = resolveRunLabels(explicitLabels, passedRunConfig, group, flow);
      // Race-free: a concurrent run with the same idempotency key wins, and this one is that run.
      const { id, created: inserted } = await deps.store.flowRuns.insertIfAbsent(
        {
          id: newId(),
          flowId: flow.id,
          name: name && name.trim() ? name : generateRunName(),
          parameters: resolvedParameters,
          context,
          labels,
          runConfig: typedRunConfig(resolveRunConfig(passedRunConfig, group, flow)),
          scheduledStartTime,
          autoScheduled: input.autoScheduled === true,
          idempotencyKey,
          initialState: stateWrite(serverState("Scheduled", "Flow run scheduled.", now, scheduledStartTime)),
        },
        now,
      );
      if (!inserted) return { id, created: false };
      const created = serverState("Pending", "Task run created", now);
      await deps.store.taskRuns.insertMissing(
        (await deps.store.flows.tasks(flow.id)).map((task) => ({
          id: newId(),
          flowRunId: id,
          taskId: task.id,
          taskSlug: task.slug,
          mapIndex: -1,
          cacheKey: task.cacheKey,
          initialState: stateWrite(created),
        })),
        now,
      );
      await deps.store.events.runsChanged({ at: scheduledStartTime, labels });
      return { id, created: true };
    });
  }

  return { createFlowRun };
}

/** The flow a run is for: by flow id, or the newest unarchived version of a version group or flow group. */
async function resolveFlow(deps: ServiceDeps, input: CreateFlowRunInput): Promise<FlowRecord> {
  if (input.flowId != null) {
    const id = requireUuid(input.flowId, "flow_id");
    await deps.store.lock.flow(id, "share");
    const flow = await deps.store.flows.get(id);
    if (!flow) throw notFoundError(`Flow ${id} not found`);
    if (flow.archived) throw validationError(`Flow ${id} is archived: archived flows refuse new runs (run its newest version)`);
    return flow;
  }
  if (input.versionGroupId != null) {
    const flow = await deps.store.flows.newestUnarchived({ versionGroupId: String(input.versionGroupId) });
    if (!flow) throw notFoundError(`Version group ${input.versionGroupId} has no unarchived flows.`);
    return await lockedUnarchived(deps, flow);
  }
  if (input.flowGroupId != null) {
    const id = requireUuid(input.flowGroupId, "flow_group_id");
    const flow = await deps.store.flows.newestUnarchived({ flowGroupId: id });
    if (!flow) throw notFoundError(`Flow group ${id} has no unarchived flows.`);
    return await lockedUnarchived(deps, flow);
  }
  throw validationError("One of flow_id, version_group_id or flow_group_id must be provided.");
}

/** The flow, share-locked against a concurrent archive; archived meanwhile: refused like an archived flow id. */
async function lockedUnarchived(deps: ServiceDeps, flow: FlowRecord): Promise<FlowRecord> {
  await deps.store.lock.flow(flow.id, "share");
  const current = await deps.store.flows.get(flow.id);
  if (!current || current.archived) throw validationError(`Flow ${flow.id} was archived meanwhile: archived flows refuse new runs (try again)`);
  return current;
}
