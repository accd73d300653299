import type { LogRepository } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid, jsonText } from "./values.ts";

export function createLogRepository(db: Session): LogRepository {
  return {
    async insertValid(logs, now) {
      // Ids that are no uuid name no run (and no stored line): skipped here, as the statement
      // would fail on them. The rest is one INSERT with SQLite's skip rules in its WHERE.
      const rows = logs.filter((l) => isUuid(l.id) && isUuid(l.flowRunId) && (l.taskRunId === null || isUuid(l.taskRunId)));
      if (!rows.length) return 0;
      const result = await db.query(
        `INSERT INTO log (id, flow_run_id, task_run_id, timestamp, name, level, message, info, created)
         SELECT u.id, u.flow_run_id, u.task_run_id, u.ts, u.name, u.level, u.message, u.info::jsonb, $9
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS u(id, flow_run_id, task_run_id, ts, name, level, message, info)
         WHERE EXISTS (SELECT 1 FROM flow_run fr WHERE fr.id = u.flow_run_id)
           AND (u.task_run_id IS NULL OR EXISTS (SELECT 1 FROM task_run tr WHERE tr.id = u.task_run_id AND tr.flow_run_id = u.flow_run_id))
         ON CONFLICT (id) DO NOTHING`,
        [
          rows.map((l) => l.id),
          rows.map((l) => l.flowRunId),
          rows.map((l) => l.taskRunId),
          rows.map((l) => l.timestamp),
          rows.map((l) => l.name),
          rows.map((l) => l.level),
          rows.map((l) => l.message),
          rows.map((l) => jsonText(l.info)),
          now,
        ],
      );
      return result.count;
    },
  };
}
