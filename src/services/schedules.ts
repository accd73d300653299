import { notFoundError, validationError } from "../core/errors.ts";
import type { FlowGroupRecord, FlowRecord } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { scheduleFlowRunsNow } from "./schedule-runs.ts";
import type { ScheduleTarget } from "./types.ts";
import { requireUuid } from "./validate.ts";

/**
 * Why a flow's schedule cannot be active, in a few words, or null: a clock sets a parameter the
 * flow does not have, or leaves a required one without a value (clock parameter defaults and the
 * flow group's default parameters count).
 */
export function scheduleLeftOffReason(flow: FlowRecord, group: FlowGroupRecord): string | null {
  const schedule = group.schedule ?? flow.schedule;
  if (!schedule) return null;
  const required = flow.parameters.filter((p) => p.required).map((p) => p.name);
  const known = new Set(flow.parameters.map((p) => p.name));
  const unknown = new Set((schedule.clocks ?? []).flatMap((c) => Object.keys(c.parameterDefaults ?? {})).filter((n) => !known.has(n)));
  if (unknown.size) return `a clock sets ${quoted(unknown)}, which flow '${flow.name}' has no parameter for`;
  const missing = new Set<string>();
  for (const clock of schedule.clocks ?? []) {
    for (const name of required) {
      if (!(name in (clock.parameterDefaults ?? {})) && !(name in group.defaultParameters)) missing.add(name);
    }
  }
  if (!missing.size) return null;
  const what = missing.size === 1 ? `parameter ${quoted(missing)} is required` : `parameters ${quoted(missing)} are required`;
  return `${what} and ${(schedule.clocks ?? []).length > 1 ? "some clock gives" : "the clock gives"} no value (give a default, a clock parameter default or a flow-group default)`;
}

/** The same reason as the one-line error of activating such a schedule. */
export function scheduleActivationProblem(flow: FlowRecord, group: FlowGroupRecord): string | null {
  const reason = scheduleLeftOffReason(flow, group);
  if (!reason) return null;
  if (reason.startsWith("a clock sets")) return `A clock of the schedule sets${reason.slice("a clock sets".length)}.`;
  return `Can not schedule a flow that has required parameters: ${reason}.`;
}

function quoted(names: Iterable<string>): string {
  return [...names].map((n) => `'${n}'`).join(", ");
}

/** Turning a flow's schedule on (its next runs are created at once) and off (its auto-scheduled runs are deleted). */
export function createScheduleService(deps: ServiceDeps) {
  /** A flow id (that flow), else a flow group id (its newest unarchived flow). */
  async function resolve(given: unknown, field: string): Promise<{ flow: FlowRecord; group: FlowGroupRecord }> {
    const id = requireUuid(given, field);
    const flow = await deps.store.flows.get(id);
    if (flow) return { flow, group: (await deps.store.flows.getGroup(flow.flowGroupId))! };
    const group = await deps.store.flows.getGroup(id);
    const newest = group && (await deps.store.flows.newestUnarchived({ flowGroupId: id }));
    if (group && newest) return { flow: newest, group };
    if (group) throw notFoundError(`Flow group ${id} has no unarchived flow: register the flow again to schedule it`);
    throw notFoundError(`No flow or flow group has the id ${id} (${field} takes a flow id or a flow group id)`);
  }

  /**
   * The schedule of `flow_id` or `schedule_id`. A schedule has no id of its own: it belongs to a
   * flow group (overriding its flows') or to a flow, so either field takes a flow id (that
   * version's schedule) or a flow group id (the schedule of its newest unarchived version).
   */
  async function target(t: ScheduleTarget): Promise<{ flow: FlowRecord; group: FlowGroupRecord }> {
    if (t.flowId != null) return await resolve(t.flowId, "flow_id");
    if (t.scheduleId != null) return await resolve(t.scheduleId, "schedule_id");
    throw validationError("One of flow_id or schedule_id must be provided.");
  }

  /** The target, its flow update-locked (its schedule flag changes), read again under the lock. */
  async function lockedTarget(t: ScheduleTarget): Promise<{ flow: FlowRecord; group: FlowGroupRecord }> {
    const { flow } = await target(t);
    await deps.store.lock.flow(flow.id, "update");
    const current = (await deps.store.flows.get(flow.id))!;
    return { flow: current, group: (await deps.store.flows.getGroup(current.flowGroupId))! };
  }

  async function setScheduleActive(t: ScheduleTarget): Promise<boolean> {
    return await deps.store.transaction(async () => {
      const { flow, group } = await lockedTarget(t);
      if (!(group.schedule ?? flow.schedule)) return false;
      if (flow.archived) throw validationError(`Flow ${flow.id} is archived: its schedule cannot be activated`);
      const problem = scheduleActivationProblem(flow, group);
      if (problem) throw validationError(problem);
      await deps.store.flows.setScheduleActive(flow.id, true, isoNow(deps));
      await scheduleFlowRunsNow(deps, flow.id, deps.maxScheduledRuns);
      return true;
    });
  }

  async function setScheduleInactive(t: ScheduleTarget): Promise<boolean> {
    return await deps.store.transaction(async () => {
      const { flow } = await lockedTarget(t);
      await deps.store.flows.setScheduleActive(flow.id, false, isoNow(deps));
      await deps.store.flowRuns.delete(await deps.store.flowRuns.scheduledRunIds(flow.id, true));
      return true;
    });
  }

  return { setScheduleActive, setScheduleInactive };
}
