import type { Queries } from "./lazy-queries.ts";
import type { ActiveSchedule, ScheduleRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import type { SerializedSchedule } from "../../core/schedule/schedule.ts";
import { toJSONText } from "./json.ts";
import { WAITING_STATES, WAITING_STATES_SQL } from "../waiting-states.ts";


export function createScheduleRepository(db: Queries): Synchronous<ScheduleRepository> {
  const q = {
    active: db.query<{ flow_id: string; upcoming: number }, { now: string }>(
      `SELECT f.id AS flow_id,
         (SELECT COUNT(*) FROM flow_run fr
           WHERE fr.flow_id = f.id AND fr.auto_scheduled = 1 AND fr.scheduled_start_time > $now) AS upcoming
       FROM flow f JOIN flow_group g ON g.id = f.flow_group_id
       WHERE f.is_schedule_active = 1 AND f.archived = 0 AND (g.schedule IS NOT NULL OR f.schedule IS NOT NULL)`,
    ),
    lastAuto: db.query<{ t: string | null }, { flow_id: string }>(
      "SELECT MAX(scheduled_start_time) AS t FROM flow_run WHERE flow_id = $flow_id AND auto_scheduled = 1",
    ),
    // One index seek per state (flow_run_queue is on (state, state_start_time)).
    nextDue: db.query<{ t: string | null }, { after: string }>(
      `SELECT MIN(t) AS t FROM (
         ${WAITING_STATES.map((s) => `SELECT MIN(state_start_time) AS t FROM flow_run WHERE state = '${s}' AND state_start_time > $after`).join(" UNION ALL ")}
         UNION ALL
         SELECT MIN(tr.state_start_time) AS t FROM task_run tr JOIN flow_run fr ON fr.id = tr.flow_run_id
          WHERE tr.state IN ${WAITING_STATES_SQL} AND fr.state = 'Running' AND tr.state_start_time > $after
       )`,
    ),
    setGroupSchedule: db.query("UPDATE flow_group SET schedule = $schedule, updated = $now WHERE id = $id"),
  };
  return {
    active: (now) => q.active.all({ now }).map((r) => ({ flowId: r.flow_id, upcoming: r.upcoming })),
    lastAutoScheduledStart: (flowId) => q.lastAuto.get({ flow_id: flowId })?.t ?? undefined,
    nextDueAfter: (after) => q.nextDue.get({ after })?.t ?? undefined,
    setGroupSchedule: (id, schedule, now) => void q.setGroupSchedule.run({ id, schedule: toJSONText(schedule), now }),
  };
}
