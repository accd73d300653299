/**
 * Seed a database for the query-latency benchmark: one flow of 100 tasks, one run of it with its
 * 100 task runs, and N-1 other runs with two task runs each, inserted with plain SQL in batches
 * (seeding is not what is measured). Prints { flowRunId } as JSON.
 * Usage: bun scripts/bench/seed-runs.ts DB_PATH N
 */
import { openDatabase } from "../../src/storage/sqlite/db.ts";

const [dbPath = "", nText = "100000"] = process.argv.slice(2);
const n = Number(nText);
const db = openDatabase(dbPath);
const now = new Date().toISOString();
const id = () => crypto.randomUUID();
const state = JSON.stringify({ type: "Success", message: "Task run succeeded.", timestamp: now });

const projectId = id();
const groupId = id();
const flowId = id();
db.run(`INSERT INTO project (id, name, created, updated) VALUES (?, 'bench', ?, ?)`, [projectId, now, now]);
db.run(`INSERT INTO flow_group (id, name, settings, created, updated) VALUES (?, ?, '{}', ?, ?)`, [groupId, groupId, now, now]);
db.run(
  `INSERT INTO flow (id, name, version, version_group_id, flow_group_id, project_id, core_version, serialized_flow, serialized_hash, created, updated)
   VALUES (?, 'bench', 1, ?, ?, ?, '1', '{}', 'x', ?, ?)`,
  [flowId, groupId, groupId, projectId, now, now],
);
const taskIds = Array.from({ length: 100 }, (_, i) => {
  const t = id();
  db.run(`INSERT INTO task (id, flow_id, name, slug, type, trigger, created) VALUES (?, ?, ?, ?, 'task', 'all_successful', ?)`, [t, flowId, `t${i}`, `t${i}-1`, now]);
  return t;
});

const insertRun = db.prepare(
  `INSERT INTO flow_run (id, flow_id, name, scheduled_start_time, version, state, serialized_state, created, updated)
   VALUES (?, ?, ?, ?, 3, 'Success', ?, ?, ?)`,
);
const insertTaskRun = db.prepare(
  `INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, version, state, serialized_state, created, updated)
   VALUES (?, ?, ?, ?, -1, 3, 'Success', ?, ?, ?)`,
);
const target = id();
db.transaction(() => {
  insertRun.run(target, flowId, "target", now, state, now, now);
  taskIds.forEach((t, i) => insertTaskRun.run(id(), target, t, `t${i}-1`, state, now, now));
})();
const BATCH = 10_000;
for (let done = 1; done < n; done += BATCH) {
  db.transaction(() => {
    for (let i = done; i < Math.min(n, done + BATCH); i++) {
      const run = id();
      insertRun.run(run, flowId, `run-${i}`, now, state, now, now);
      insertTaskRun.run(id(), run, taskIds[0]!, "t0-1", state, now, now);
      insertTaskRun.run(id(), run, taskIds[1]!, "t1-1", state, now, now);
    }
  })();
}
db.close();
console.log(JSON.stringify({ flowRunId: target }));
