import type { Queries } from "./lazy-queries.ts";
import type { LogRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import { toJSONText } from "./json.ts";
import type { NewLog } from "../records.ts";


export function createLogRepository(db: Queries): Synchronous<LogRepository> {
  const insert = db.query(
    `INSERT INTO log (id, flow_run_id, task_run_id, timestamp, name, level, message, info, created)
     VALUES ($id, $flow_run_id, $task_run_id, $timestamp, $name, $level, $message, $info, $now)
     ON CONFLICT (id) DO NOTHING`,
  );
  const flowRunExists = db.query<{ one: number }, { id: string }>("SELECT 1 AS one FROM flow_run WHERE id = $id");
  const taskRunFlowRun = db.query<{ flow_run_id: string }, { id: string }>("SELECT flow_run_id FROM task_run WHERE id = $id");
  return {
    insertValid(logs, now) {
      // The caller holds the transaction, so what is checked here holds until the inserts. A
      // batch's rows mostly share their runs: each distinct run is looked up once.
      const flowRuns = new Map<string, boolean>();
      const taskRuns = new Map<string, string | null>();
      let written = 0;
      for (const l of logs) {
        let flowRunOk = flowRuns.get(l.flowRunId);
        if (flowRunOk === undefined) {
          flowRunOk = flowRunExists.get({ id: l.flowRunId }) !== null;
          flowRuns.set(l.flowRunId, flowRunOk);
        }
        if (!flowRunOk) continue;
        if (l.taskRunId !== null) {
          let owner = taskRuns.get(l.taskRunId);
          if (owner === undefined) {
            owner = taskRunFlowRun.get({ id: l.taskRunId })?.flow_run_id ?? null;
            taskRuns.set(l.taskRunId, owner);
          }
          if (owner !== l.flowRunId) continue;
        }
        const { changes } = insert.run({
          id: l.id,
          flow_run_id: l.flowRunId,
          task_run_id: l.taskRunId,
          timestamp: l.timestamp,
          name: l.name,
          level: l.level,
          message: l.message,
          info: toJSONText(l.info),
          now,
        });
        written += changes;
      }
      return written;
    },
  };
}
