/**
 * The floor under create_flow_run over HTTP, in one process on a fresh database (usage:
 * bun create-worker.ts HOME → one JSON line). Per create, in microseconds, many creates in one
 * transaction (one commit, no HTTP, no GraphQL):
 *   services: the backend's createFlowRun for the hello-world flow (its checks, its 8 rows), each
 *             awaited, in one store transaction;
 *   raw:      plain prepared statements inserting the same 8 rows (the run, its Scheduled
 *             history row, three task runs and their Pending history rows) on the same schema,
 *             on a second connection to the file.
 * Medians of five rounds of 2,000, interleaved.
 */
import { join } from "node:path";
import { openBackend } from "../../src/runtime/backend.ts";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { serializeFlow } from "../../src/core/serialize.ts";
import { flow as helloWorld } from "../../src/hello-world.ts";
import { median } from "./measure.ts";

const [home] = process.argv.slice(2);
if (!home) {
  process.stderr.write("usage: create-worker.ts HOME\n");
  process.exit(2);
}
const path = join(home, "prefectlite.db");
const backend = await openBackend(path);
const { services, storage } = backend;
const db = openDatabase(path, { migrate: false });
const project = await services.createProject({ name: "bench" });
const { id: flowId } = await services.createFlow({ serializedFlow: serializeFlow(helloWorld), projectId: project.id });
const tasks = db.query("SELECT id, slug FROM task WHERE flow_id = ?").all(flowId) as Array<{ id: string; slug: string }>;
const q = {
  run: db.query(`INSERT INTO flow_run (id, flow_id, name, parameters, context, labels, run_config, scheduled_start_time, auto_scheduled,
      version, state, state_timestamp, state_message, state_start_time, serialized_state, created, updated)
    VALUES ($id, $flow, 'raw-run', '{"name":"world"}', '{}', '[]', '{"type":"UniversalRun","env":{},"labels":[]}', $t, 0, 1,
      'Scheduled', $t, 'Flow run scheduled.', $t, $s, $t, $t)`),
  runHistory: db.query(`INSERT INTO flow_run_state (id, flow_run_id, timestamp, state, message, start_time, serialized_state, version, created)
    VALUES ($id, $run, $t, 'Scheduled', 'Flow run scheduled.', $t, $s, 1, $t)`),
  task: db.query(`INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, version, state, state_timestamp, state_message, serialized_state, created, updated)
    VALUES ($id, $run, $task, $slug, -1, 1, 'Pending', $t, 'Task run created', $s, $t, $t)`),
  taskHistory: db.query(`INSERT INTO task_run_state (id, task_run_id, timestamp, state, message, serialized_state, version, created)
    VALUES ($id, $tr, $t, 'Pending', 'Task run created', $s, 1, $t)`),
};
const N = 2000;
const perCreate = (fn: () => void) => {
  const started = performance.now();
  db.transaction(() => {
    for (let i = 0; i < N; i++) fn();
  }).immediate();
  return ((performance.now() - started) * 1000) / N;
};
const perServiceCreate = async (fn: () => Promise<unknown>) => {
  const started = performance.now();
  await storage.store.transaction(async () => {
    for (let i = 0; i < N; i++) await fn();
  });
  return ((performance.now() - started) * 1000) / N;
};
const servicesUs: number[] = [];
const rawUs: number[] = [];
for (let round = 0; round < 5; round++) {
  servicesUs.push(await perServiceCreate(() => services.createFlowRun({ flowId, parameters: { name: "world" } })));
  rawUs.push(
    perCreate(() => {
      const t = new Date().toISOString();
      const run = Bun.randomUUIDv7();
      const scheduled = JSON.stringify({ type: "Scheduled", message: "Flow run scheduled.", timestamp: t, startTime: t });
      q.run.run({ id: run, flow: flowId, t, s: scheduled });
      q.runHistory.run({ id: Bun.randomUUIDv7(), run, t, s: scheduled });
      const pending = JSON.stringify({ type: "Pending", message: "Task run created", timestamp: t });
      for (const task of tasks) {
        const tr = Bun.randomUUIDv7();
        q.task.run({ id: tr, run, task: task.id, slug: task.slug, t, s: pending });
        q.taskHistory.run({ id: Bun.randomUUIDv7(), tr, t, s: pending });
      }
    }),
  );
}
db.close();
await backend.close();
process.stdout.write(`${JSON.stringify({ servicesUs: median(servicesUs), rawUs: median(rawUs) })}\n`);
