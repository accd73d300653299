import { notFoundError, validationError } from "../core/errors.ts";
import type { FlowGroupRecord, FlowRecord } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { scheduleFlowRunsNow } from "./schedule-runs.ts";
import type { ScheduleTarget } from "./types.ts";
import { requireUuid } from "./validate.ts";

/**
 * Why a flow's schedule cannot be active, or null: some clock leaves a required parameter
 * without a value (clock parameter defaults and the flow group's default parameters count).
 */
export function scheduleActivationProblem(flow: FlowRecord, group: FlowGroupRecord): string | null {
  const schedule = group.schedule ?? flow.schedule;
  if (!schedule) return null;
  const required = flow.parameters.filter((p) => p.required).map((p) => p.name);
  const known = new Set(flow.parameters.map((p) => p.name));
  const unknown = new Set((schedule.clocks ?? []).flatMap((c) => Object.keys(c.parameterDefaults ?? {})).filter((n) => !known.has(n)));
  if (unknown.size) {
    return `A clock of the schedule sets ${[...unknown].map((n) => `'${n}'`).join(", ")}, which flow '${flow.name}' has no parameter for.`;
  }
  const missing = new Set<string>();
  for (const clock of schedule.clocks ?? []) {
    for (const name of required) {
      if (!(name in (clock.parameterDefaults ?? {})) && !(name in group.defaultParameters)) missing.add(name);
    }
  }
  if (!missing.size) return null;
  return `Can not schedule a flow that has required parameters. No value for ${[...missing].map((n) => `'${n}'`).join(", ")} in some clock (give it a default, a clock parameter default or a flow-group default).`;
}

/** Turning a flow's schedule on (its next runs are created at once) and off (its auto-scheduled runs are deleted). */
export function createScheduleService(deps: ServiceDeps) {
  function target(t: ScheduleTarget): { flow: FlowRecord; group: FlowGroupRecord } {
    if (t.flowId != null) {
      const id = requireUuid(t.flowId, "flow_id");
      const flow = deps.store.flows.get(id);
      if (!flow) throw notFoundError(`Flow ${id} not found`);
      return { flow, group: deps.store.flows.getGroup(flow.flowGroupId)! };
    }
    if (t.scheduleId != null) {
      const id = requireUuid(t.scheduleId, "schedule_id");
      const group = deps.store.flows.getGroup(id);
      const flow = group && deps.store.flows.newestUnarchived({ flowGroupId: id });
      if (!group || !flow) throw notFoundError(`Schedule ${id} not found (no flow group with an unarchived flow has that id)`);
      return { flow, group };
    }
    throw validationError("One of flow_id or schedule_id must be provided.");
  }

  function setScheduleActive(t: ScheduleTarget): boolean {
    return deps.store.transaction(() => {
      const { flow, group } = target(t);
      if (!(group.schedule ?? flow.schedule)) return false;
      if (flow.archived) throw validationError(`Flow ${flow.id} is archived: its schedule cannot be activated`);
      const problem = scheduleActivationProblem(flow, group);
      if (problem) throw validationError(problem);
      deps.store.flows.setScheduleActive(flow.id, true, isoNow(deps));
      scheduleFlowRunsNow(deps, flow.id, deps.maxScheduledRuns);
      return true;
    });
  }

  function setScheduleInactive(t: ScheduleTarget): boolean {
    return deps.store.transaction(() => {
      const { flow } = target(t);
      deps.store.flows.setScheduleActive(flow.id, false, isoNow(deps));
      deps.store.flowRuns.delete(deps.store.flowRuns.scheduledRunIds(flow.id, true));
      return true;
    });
  }

  return { setScheduleActive, setScheduleInactive };
}
