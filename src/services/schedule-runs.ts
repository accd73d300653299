import { Schedule, type ScheduledEvent } from "../core/schedule/schedule.ts";
import { canonicalJSON } from "../core/serialize.ts";
import type { ServiceDeps } from "./deps.ts";
import { createFlowRunService } from "./flow-runs.ts";

/** Creating a flow's upcoming auto-scheduled runs (reference §3.7), shared by activation, registration and the scheduler. */

/**
 * The idempotency key of an auto-scheduled run: `auto-scheduled:<UTC ISO start>`, plus an md5 of
 * the clock's parameter defaults and labels when it has any, so two clocks firing at the same
 * instant with different parameters both run.
 */
export function autoScheduledKey(event: ScheduledEvent): string {
  const key = `auto-scheduled:${event.startTime.toISOString()}`;
  if (!hasExtras(event)) return key;
  const digest = new Bun.CryptoHasher("md5")
    .update(canonicalJSON(event.parameterDefaults) + canonicalJSON([...event.labels].sort()))
    .digest("hex");
  return `${key}:${digest}`;
}

function hasExtras(event: ScheduledEvent): boolean {
  return Object.keys(event.parameterDefaults).length > 0 || event.labels.length > 0;
}

/**
 * Create the next `maxRuns` runs of a flow's schedule (its group's wins over its own) from now,
 * for an active, unarchived flow; returns how many were created. Safe to repeat and to run from
 * several processes at once: each run's idempotency key is unique per flow.
 */
export async function scheduleFlowRunsNow(deps: ServiceDeps, flowId: string, maxRuns: number): Promise<number> {
  return await deps.store.transaction(async () => {
    await deps.store.lock.flow(flowId, "share");
    const flow = await deps.store.flows.get(flowId);
    if (!flow || flow.archived || !flow.isScheduleActive) return 0;
    const group = (await deps.store.flows.getGroup(flow.flowGroupId))!;
    const serialized = group.schedule ?? flow.schedule;
    if (!serialized || maxRuns < 1) return 0;
    const now = deps.now();
    const last = await deps.store.schedules.lastAutoScheduledStart(flowId);
    const lastTime = last ? Date.parse(last) : now.getTime();
    const { createFlowRun } = createFlowRunService(deps);
    let created = 0;
    for (const event of Schedule.fromJSON(serialized).next(maxRuns, now)) {
      // Like Prefect: a plain event at or before the last auto-scheduled run is not re-created
      // (a run someone deleted stays deleted).
      if (!hasExtras(event) && event.startTime.getTime() <= lastTime) continue;
      const result = await createFlowRun({
        flowId,
        scheduledStartTime: event.startTime.toISOString(),
        parameters: event.parameterDefaults,
        labels: event.labels.length ? event.labels : null,
        idempotencyKey: autoScheduledKey(event),
        autoScheduled: true,
      });
      if (result.created) created++;
    }
    return created;
  });
}
