import type { ScheduleRepository } from "../store.ts";
import { WAITING_STATES, WAITING_STATES_SQL } from "../waiting-states.ts";
import type { Session } from "./session.ts";
import { isUuid, isoTime, jsonText } from "./values.ts";

export function createScheduleRepository(db: Session): ScheduleRepository {
  return {
    async active(now) {
      const rows = await db.query<{ flow_id: string; upcoming: number }>(
        `SELECT f.id AS flow_id,
           (SELECT COUNT(*)::int FROM flow_run fr
             WHERE fr.flow_id = f.id AND fr.auto_scheduled AND fr.scheduled_start_time > $1) AS upcoming
         FROM flow f JOIN flow_group g ON g.id = f.flow_group_id
         WHERE f.is_schedule_active AND NOT f.archived AND (g.schedule IS NOT NULL OR f.schedule IS NOT NULL)`,
        [now],
      );
      return rows.map((r) => ({ flowId: r.flow_id, upcoming: r.upcoming }));
    },
    async lastAutoScheduledStart(flowId) {
      if (!isUuid(flowId)) return undefined;
      const [row] = await db.query<{ t: Date | null }>(
        "SELECT MAX(scheduled_start_time) AS t FROM flow_run WHERE flow_id = $1 AND auto_scheduled",
        [flowId],
      );
      return isoTime(row?.t) ?? undefined;
    },
    async nextDueAfter(after) {
      // One index seek per state (flow_run_queue is on (state, state_start_time)).
      const [row] = await db.query<{ t: Date | null }>(
        `SELECT MIN(t) AS t FROM (
           ${WAITING_STATES.map((s) => `SELECT MIN(state_start_time) AS t FROM flow_run WHERE state = '${s}' AND state_start_time > $1`).join(" UNION ALL ")}
           UNION ALL
           SELECT MIN(tr.state_start_time) AS t FROM task_run tr JOIN flow_run fr ON fr.id = tr.flow_run_id
            WHERE tr.state IN ${WAITING_STATES_SQL} AND fr.state = 'Running' AND tr.state_start_time > $1
         ) due`,
        [after],
      );
      return isoTime(row?.t) ?? undefined;
    },
    async setGroupSchedule(id, schedule, now) {
      if (!isUuid(id)) return;
      await db.query("UPDATE flow_group SET schedule = $2::text::jsonb, updated = $3 WHERE id = $1", [id, jsonText(schedule), now]);
    },
  };
}
