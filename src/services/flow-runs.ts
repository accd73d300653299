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
  function createFlowRun(input: CreateFlowRunInput): CreateFlowRunResult {
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

    return deps.store.transaction(() => {
      const flow = resolveFlow(deps, input);
      if (idempotencyKey !== null) {
        const existing = deps.store.flowRuns.findByIdempotencyKey(flow.id, idempotencyKey);
        if (existing) return { id: existing.id, created: false };
      }
      const group = deps.store.flows.getGroup(flow.flowGroupId)!;
      const resolvedParameters = resolveParameters(flow.name, flow.parameters, group.defaultParameters, parameters);
      const id = newId();
      deps.store.flowRuns.insert(
        {
          id,
          flowId: flow.id,
          name: name && name.trim() ? name : generateRunName(),
          parameters: resolvedParameters,
          context,
          labels: resolveRunLabels(explicitLabels, passedRunConfig, group, flow),
          runConfig: typedRunConfig(resolveRunConfig(passedRunConfig, group, flow)),
          scheduledStartTime,
          autoScheduled: input.autoScheduled === true,
          idempotencyKey,
          initialState: stateWrite(serverState("Scheduled", "Flow run scheduled.", now, scheduledStartTime)),
        },
        now,
      );
      const created = serverState("Pending", "Task run created", now);
      deps.store.taskRuns.insertMissing(
        deps.store.flows.tasks(flow.id).map((task) => ({
          id: newId(),
          flowRunId: id,
          taskId: task.id,
          taskSlug: task.slug,
          mapIndex: -1,
          initialState: stateWrite(created),
        })),
        now,
      );
      return { id, created: true };
    });
  }

  return { createFlowRun };
}

/** The flow a run is for: by flow id, or the newest unarchived version of a version group or flow group. */
function resolveFlow(deps: ServiceDeps, input: CreateFlowRunInput): FlowRecord {
  if (input.flowId != null) {
    const id = requireUuid(input.flowId, "flow_id");
    const flow = deps.store.flows.get(id);
    if (!flow) throw notFoundError(`Flow ${id} not found`);
    if (flow.archived) throw validationError(`Flow ${id} is archived: archived flows refuse new runs (run its newest version)`);
    return flow;
  }
  if (input.versionGroupId != null) {
    const flow = deps.store.flows.newestUnarchived({ versionGroupId: String(input.versionGroupId) });
    if (!flow) throw notFoundError(`Version group ${input.versionGroupId} has no unarchived flows.`);
    return flow;
  }
  if (input.flowGroupId != null) {
    const id = requireUuid(input.flowGroupId, "flow_group_id");
    const flow = deps.store.flows.newestUnarchived({ flowGroupId: id });
    if (!flow) throw notFoundError(`Flow group ${id} has no unarchived flows.`);
    return flow;
  }
  throw validationError("One of flow_id, version_group_id or flow_group_id must be provided.");
}
