import type { Database } from "bun:sqlite";
import { toJSONText } from "./json.ts";
import type { NewLog } from "./records.ts";

export interface LogRepository {
  /**
   * Insert the logs whose flow run (and task run, when given, of that flow run) exist; the
   * others are skipped. Returns how many were written.
   */
  insertValid(logs: NewLog[], now: string): number;
}

export function createLogRepository(db: Database): LogRepository {
  const insert = db.query(
    `INSERT INTO log (id, flow_run_id, task_run_id, timestamp, name, level, message, info, created)
     SELECT $id, $flow_run_id, $task_run_id, $timestamp, $name, $level, $message, $info, $now
     WHERE EXISTS (SELECT 1 FROM flow_run WHERE id = $flow_run_id)
       AND ($task_run_id IS NULL OR EXISTS (SELECT 1 FROM task_run WHERE id = $task_run_id AND flow_run_id = $flow_run_id))`,
  );
  return {
    insertValid(logs, now) {
      let written = 0;
      for (const l of logs) {
        written += insert.run({
          id: l.id,
          flow_run_id: l.flowRunId,
          task_run_id: l.taskRunId,
          timestamp: l.timestamp,
          name: l.name,
          level: l.level,
          message: l.message,
          info: toJSONText(l.info),
          now,
        }).changes;
      }
      return written;
    },
  };
}
