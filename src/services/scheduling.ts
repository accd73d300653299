import { inTransactions } from "./chunks.ts";
import { errorMessage, notFoundError, validationError } from "../core/errors.ts";
import { checkParameterTypes } from "../core/parameters.ts";
import { CronClock, IntervalClock, type Clock } from "../core/schedule/clocks.ts";
import { Schedule, type SerializedSchedule } from "../core/schedule/schedule.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { scheduleFlowRunsNow } from "./schedule-runs.ts";
import { scheduleActivationProblem } from "./schedules.ts";
import { isPlainObject, normalizeLabels, requireJsonDepth, requireUuid } from "./validate.ts";

/** Prefect's scheduler (reference §3.7): keep the next N runs of every active schedule, idempotently. */

export interface ScheduleAllResult {
  /** Flows whose runs were topped up this pass. */
  flows: number;
  /** Runs created. */
  created: number;
  /** Flows that could not be scheduled (e.g. a clock names a parameter the flow lacks). */
  errors: Array<{ flowId: string; message: string }>;
  /** Present when another process was running this pass (nothing was done). */
  skipped?: true;
}

export interface FlowGroupScheduleInput {
  flowGroupId: string;
  cronClocks?: Array<{ cron: string; parameterDefaults?: unknown; labels?: string[] | null }> | null;
  /** `interval` in seconds, as Prefect's mutation. */
  intervalClocks?: Array<{ interval: number; parameterDefaults?: unknown; labels?: string[] | null }> | null;
  /** IANA name for the cron clocks (interval clocks are anchored at the Unix epoch). */
  timezone?: string | null;
}

/** Delete the still-Scheduled auto-scheduled runs of every unarchived flow of a group. */
async function deleteGroupAutoScheduledRuns(deps: ServiceDeps, flowGroupId: string): Promise<void> {
  for (const flowId of await deps.store.flows.unarchivedIds(flowGroupId)) {
    await deps.store.flowRuns.delete(await deps.store.flowRuns.scheduledRunIds(flowId, true));
  }
}

function clockOptions(c: { parameterDefaults?: unknown; labels?: string[] | null }, where: string) {
  const parameterDefaults = c.parameterDefaults ?? {};
  if (!isPlainObject(parameterDefaults)) throw validationError(`${where}.parameter_defaults must be a JSON object`);
  requireJsonDepth(parameterDefaults, `${where}.parameter_defaults`);
  return { parameterDefaults, labels: c.labels == null ? [] : normalizeLabels(c.labels) };
}

/** The Schedule a set_flow_group_schedule input describes; bad cron, interval or timezone → Validation. */
export function scheduleFromGroupInput(input: FlowGroupScheduleInput): Schedule {
  const timezone = input.timezone ?? undefined;
  const clocks: Clock[] = [];
  (input.cronClocks ?? []).forEach((c, i) => {
    if (typeof c?.cron !== "string") throw validationError(`cron_clocks[${i}].cron must be a cron string`);
    clocks.push(new CronClock(c.cron, { ...clockOptions(c, `cron_clocks[${i}]`), ...(timezone ? { timezone } : {}) }));
  });
  (input.intervalClocks ?? []).forEach((c, i) => {
    if (typeof c?.interval !== "number" || !(c.interval > 0)) {
      throw validationError(`interval_clocks[${i}].interval must be a positive number of seconds`);
    }
    clocks.push(new IntervalClock(c.interval * 1000, clockOptions(c, `interval_clocks[${i}]`)));
  });
  if (!clocks.length) throw validationError("a flow group schedule needs at least one cron or interval clock (delete_flow_group_schedule removes it)");
  return new Schedule({ clocks });
}

export function createSchedulingService(deps: ServiceDeps) {
  const maxRunsOr = (n: number | undefined) => n ?? deps.maxScheduledRuns;

  async function scheduleFlowRuns(flowId: string, options: { maxRuns?: number } = {}): Promise<number> {
    return await scheduleFlowRunsNow(deps, requireUuid(flowId, "flow_id"), maxRunsOr(options.maxRuns));
  }

  /** Active, unarchived flows with a schedule and fewer than `maxRuns` auto-scheduled runs ahead: one query. */
  async function schedulesRunningLow(options: { maxRuns?: number } = {}): Promise<string[]> {
    const maxRuns = maxRunsOr(options.maxRuns);
    return (await deps.store.schedules.active(isoNow(deps)))
      .filter((s) => s.upcoming < maxRuns)
      .map((s) => s.flowId);
  }

  /**
   * Top up these flows' schedules, each flow in a transaction of its own (inside the caller's
   * when one is open): a pass over many schedules never holds the write lock for long, and a
   * flow that fails is reported while the others go on.
   */
  async function scheduleFlows(flowIds: readonly string[], options: { maxRuns?: number } = {}): Promise<ScheduleAllResult> {
    const maxRuns = maxRunsOr(options.maxRuns);
    const result: ScheduleAllResult = { flows: 0, created: 0, errors: [] };
    await inTransactions(deps.store, flowIds, 1, async (slice) => {
      for (const flowId of slice) {
        try {
          result.created += await scheduleFlowRunsNow(deps, flowId, maxRuns);
          result.flows++;
        } catch (e) {
          result.errors.push({ flowId, message: errorMessage(e) });
        }
      }
    });
    return result;
  }

  /**
   * One whole scheduler pass: top up every active schedule running low (the others cost one row
   * of one query), a flow per transaction.
   */
  async function scheduleAll(options: { maxRuns?: number } = {}): Promise<ScheduleAllResult> {
    const pass = await deps.store.exclusive("scheduler", async () => scheduleFlows(await schedulesRunningLow(options), options));
    return pass.ran ? pass.value : { flows: 0, created: 0, errors: [], skipped: true };
  }

  /** When the next waiting run becomes due: the earliest start strictly after `after` (default now). */
  async function nextDueAt(after: Date = deps.now()): Promise<Date | undefined> {
    const t = await deps.store.schedules.nextDueAfter(after.toISOString());
    return t === undefined ? undefined : new Date(t);
  }

  async function requireGroup(flowGroupId: string) {
    const id = requireUuid(flowGroupId, "flow_group_id");
    await deps.store.lock.flowGroup(id);
    const group = await deps.store.flows.getGroup(id);
    if (!group) throw notFoundError(`Flow group ${id} not found`);
    return group;
  }

  /** Re-create the runs of the group's active flows from the schedule now in force. */
  async function reschedule(flowGroupId: string): Promise<void> {
    for (const flowId of await deps.store.flows.unarchivedIds(flowGroupId)) await scheduleFlowRunsNow(deps, flowId, deps.maxScheduledRuns);
  }

  /**
   * Set a flow group's schedule (it overrides its flows' own) without re-registering: the
   * auto-scheduled runs it replaces are deleted and active flows are rescheduled at once.
   * Refused when some clock would leave a required parameter without a value.
   */
  async function setFlowGroupSchedule(input: FlowGroupScheduleInput): Promise<void> {
    const schedule: SerializedSchedule = scheduleFromGroupInput(input).toJSON();
    await deps.store.transaction(async () => {
      const group = await requireGroup(input.flowGroupId);
      const flow = await deps.store.flows.newestUnarchived({ flowGroupId: group.id });
      if (flow) {
        schedule.clocks.forEach((c, i) => checkParameterTypes(flow.parameters, c.parameterDefaults ?? {}, `clock ${i + 1}`));
        const problem = scheduleActivationProblem(flow, { ...group, schedule });
        if (problem) throw validationError(problem);
      }
      await deps.store.schedules.setGroupSchedule(group.id, schedule, isoNow(deps));
      await deleteGroupAutoScheduledRuns(deps, group.id);
      await reschedule(group.id);
    });
  }

  /** Remove a flow group's schedule: its flows fall back to their own schedules (if any). */
  async function deleteFlowGroupSchedule(flowGroupId: string): Promise<void> {
    await deps.store.transaction(async () => {
      const group = await requireGroup(flowGroupId);
      await deps.store.schedules.setGroupSchedule(group.id, null, isoNow(deps));
      await deleteGroupAutoScheduledRuns(deps, group.id);
      await reschedule(group.id);
    });
  }

  return { scheduleFlowRuns, schedulesRunningLow, scheduleFlows, scheduleAll, nextDueAt, setFlowGroupSchedule, deleteFlowGroupSchedule };
}
