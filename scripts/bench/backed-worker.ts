/**
 * One measurement of backed throughput, in its own process, on its own PREFECTLITE_HOME.
 * Usage: bun scripts/bench/backed-worker.ts backed|writes|execute|agent|local|sqlite N HOME
 * Prints one JSON line.
 *   backed:  register a flow mapping a trivial task over N items, create a run, execute it with the
 *            backed runner in this process on the embedded database (results checkpointed);
 *            reports the time of runBackedFlowRun and the rows the run inserted, per table;
 *   writes:  the writes such a run makes, alone: no engine, no result files. Through the run API the backed
 *            runner uses in-process, batched as its reporter batches (1,000 per call): the mapped children,
 *            their Running states, their Success states (with result locations), two log lines each, then
 *            the last batch with the flow run's final state. What the backend's writes cost by themselves;
 *   execute: the same through `prefectlite run --id FLOW --execute` (child process, wall time);
 *   agent:   the same run through a remote agent: `prefectlite serve --no-agent` in one process,
 *            `prefectlite agent start` in another, whose child executes the run over HTTP; reports
 *            the run's own time from Running to Success (its state timestamps) and the wall time
 *            from create_flow_run to Success (which adds the agent's poll and its child's start);
 *   local:   the same flow with the local engine (no backend, no checkpointing);
 *   sqlite:  raw bun:sqlite: the row counts given in PREFECTLITE_BENCH_ROWS (JSON) inserted into
 *            tables of the same shape and indexes, 1,000 rows per transaction, WAL + synchronous=NORMAL,
 *            with time-ordered (version 7) UUIDs as the product uses. With PREFECTLITE_BENCH_STATEMENTS=1,
 *            also each task run's two versioned state changes (a version read and an UPDATE each).
 */
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [mode = "backed", nText = "10000", home = ""] = process.argv.slice(2);
const n = Number(nText);
if (!home || !Number.isInteger(n) || !["backed", "writes", "execute", "agent", "local", "sqlite"].includes(mode)) {
  process.stderr.write("usage: backed-worker.ts backed|writes|execute|agent|local|sqlite N HOME\n");
  process.exit(2);
}
process.env.PREFECTLITE_HOME = home;
const ROOT = resolve(import.meta.dir, "../..");

const FLOW = `
import { Flow, task } from "prefectlite";
const trivial = task({ name: "trivial" }, async (x: number) => x + 1);
export const flow = new Flow("bench-backed", () => { trivial.map(Array.from({ length: ${n} }, (_, i) => i)); });
`;

async function registered() {
  const { BackendClient } = await import("../../src/client/client.ts");
  const { openEmbeddedBackend } = await import("../../src/runtime/embedded-backend.ts");
  const { registerFlow } = await import("../../src/client/register.ts");
  const { loadFlowsFromFile } = await import("../../src/loader/load.ts");
  const path = join(home, "bench-flow.ts");
  writeFileSync(path, FLOW);
  const client = new BackendClient(await openEmbeddedBackend(join(home, "prefectlite.db")));
  await client.createProject("bench");
  const loaded = await loadFlowsFromFile(path);
  const { id } = await registerFlow(client, loaded.flows[0]!, "bench");
  return { client, flowId: id };
}

function rowCounts(flowRunId: string): Record<string, number> {
  const db = new Database(join(home, "prefectlite.db"), { readonly: true });
  const one = (sql: string) => (db.query(sql).get(flowRunId) as { c: number }).c;
  const counts = {
    task_run: one("SELECT count(*) AS c FROM task_run WHERE flow_run_id = ?"),
    task_run_state: one("SELECT count(*) AS c FROM task_run_state WHERE task_run_id IN (SELECT id FROM task_run WHERE flow_run_id = ?)"),
    log: one("SELECT count(*) AS c FROM log WHERE flow_run_id = ?"),
    flow_run_state: one("SELECT count(*) AS c FROM flow_run_state WHERE flow_run_id = ?"),
  };
  db.close();
  return counts;
}

if (mode === "backed") {
  const { runBackedFlowRun } = await import("../../src/backed/flow-run-runner.ts");
  const { client, flowId } = await registered();
  const id = await client.createFlowRun({ flowId });
  const started = performance.now();
  const outcome = await runBackedFlowRun(client, id, { warn: (m) => process.stderr.write(`${m}\n`) });
  const ms = performance.now() - started;
  await client.close();
  process.stdout.write(`${JSON.stringify({ mode, n, ms, state: outcome.state, rows: rowCounts(id) })}\n`);
} else if (mode === "writes") {
  const { client, flowId } = await registered();
  const id = await client.createFlowRun({ flowId });
  const api = await client.backend();
  const BATCH = 1000;
  const now = () => new Date().toISOString();
  const started = performance.now();
  const run = (await api.readFlowRun(id))!;
  let flowVersion = await api.setFlowRunState(id, run.version, { type: "Running", message: "Running flow.", timestamp: now() });
  const parent = run.task_runs[0]!;
  await api.setTaskRunStates([
    { taskRunId: parent.id, version: parent.version, state: { type: "Mapped", message: "Ready to proceed with mapping.", timestamp: now(), nMapStates: n } },
  ]);
  const children = await api.mappedChildren(id, parent.task_slug, n);
  const inBatches = async (write: (from: number, to: number) => Promise<void>) => {
    for (let from = 0; from < children.length; from += BATCH) await write(from, Math.min(children.length, from + BATCH));
  };
  for (const type of ["Running", "Success"] as const) {
    await inBatches(async (from, to) => {
      const batch = children.slice(from, to);
      const versions = await api.setTaskRunStates(
        batch.map((c) => {
          const state =
            type === "Running"
              ? { type, message: "Starting task run.", timestamp: now() }
              : { type, message: "Task run succeeded.", timestamp: now(), result: { type: "LocalResult" as const, location: join(home, "results", `${c.id}.prefect_result`), dir: join(home, "results") } };
          return { taskRunId: c.id, version: c.version, state };
        }),
      );
      batch.forEach((c, i) => (c.version = versions[i]!));
    });
  }
  const line = (c: (typeof children)[number], message: string) => ({
    flow_run_id: id, task_run_id: c.id, timestamp: now(), name: "prefectlite.TaskRunner", level: "INFO", message,
  });
  const logs = children.flatMap((c) => [
    line(c, `Task 'trivial[${c.map_index}]': Starting task run...`),
    line(c, `Task 'trivial[${c.map_index}]': Finished task run for task with final state: 'Success'`),
  ]);
  for (let from = 0; from < logs.length; from += BATCH) await api.writeLogs(logs.slice(from, from + BATCH));
  const final = await api.writeBatch!({
    taskRunStates: [],
    logs: [{ flow_run_id: id, task_run_id: null, timestamp: now(), name: "prefectlite.FlowRunner", level: "INFO", message: "Flow run SUCCESS: all reference tasks succeeded" }],
    flowRunState: { id, version: flowVersion, state: { type: "Success", message: "All reference tasks succeeded.", timestamp: now() } },
  });
  flowVersion = final.flowRunVersion!;
  const ms = performance.now() - started;
  await client.close();
  process.stdout.write(`${JSON.stringify({ mode, n, ms, state: "Success", rows: rowCounts(id) })}\n`);
} else if (mode === "execute") {
  const { client, flowId } = await registered();
  await client.close();
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "run", "--id", flowId, "--execute"], {
    env: { ...process.env, PREFECTLITE_HOME: home },
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`run --execute exited ${code}: ${err}`);
  process.stdout.write(`${JSON.stringify({ mode, n, ms, state: "Success" })}\n`);
} else if (mode === "agent") {
  const { BackendClient } = await import("../../src/client/client.ts");
  const { HttpBackend } = await import("../../src/client/http-backend.ts");
  const registration = await registered();
  await registration.client.close();
  const env = { ...process.env, PREFECTLITE_HOME: home } as Record<string, string>;
  const { startApiServer } = await import("./serve-process.ts");
  const server = await startApiServer(home);
  const url = server.url;
  const agent = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "agent", "start"], {
    env: { ...env, PREFECTLITE_API_URL: url, PREFECTLITE_AGENT_POLL_SECONDS: "0.1" },
    stdout: "ignore",
    stderr: "inherit",
  });
  const client = new BackendClient(new HttpBackend(url));
  const started = performance.now();
  const id = await client.createFlowRun({ flowId: registration.flowId });
  let state = "";
  for (;;) {
    const r = await client.graphql<{ flow_run_by_pk: { state: string } }>(`query ($id: uuid!) { flow_run_by_pk(id: $id) { state } }`, { id });
    state = r.flow_run_by_pk.state;
    if (state === "Success" || state === "Failed" || state === "Cancelled") break;
    await Bun.sleep(5);
  }
  const wallMs = performance.now() - started;
  await client.close();
  agent.kill("SIGTERM");
  await agent.exited;
  await server.stop();
  const db = new Database(join(home, "prefectlite.db"), { readonly: true });
  const at = (s: string) =>
    Date.parse((db.query("SELECT timestamp FROM flow_run_state WHERE flow_run_id = ? AND state = ? ORDER BY version LIMIT 1").get(id, s) as { timestamp: string }).timestamp);
  const ms = at(state) - at("Running");
  db.close();
  process.stdout.write(`${JSON.stringify({ mode, n, ms, wallMs, state })}\n`);
} else if (mode === "local") {
  const { Flow, task } = await import("../../src/index.ts");
  const { memoryReporter, runFlow } = await import("../../src/engine/flow-runner.ts");
  const trivial = task({ name: "trivial" }, async (x: number) => x + 1);
  const items = Array.from({ length: n }, (_, i) => i);
  const flow = new Flow("bench-backed", () => {
    trivial.map(items);
  });
  const started = performance.now();
  const final = await runFlow(flow, { reporter: memoryReporter() });
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ mode, n, ms, state: final.type })}\n`);
} else {
  const rows = JSON.parse(process.env.PREFECTLITE_BENCH_ROWS ?? "{}") as Record<string, number>;
  const db = new Database(join(home, "raw.db"));
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;");
  db.exec(`
    CREATE TABLE task_run (id TEXT PRIMARY KEY, flow_run_id TEXT NOT NULL, task_id TEXT NOT NULL, task_slug TEXT NOT NULL,
      map_index INTEGER NOT NULL, version INTEGER NOT NULL, state TEXT, state_timestamp TEXT, state_message TEXT,
      serialized_state TEXT, created TEXT NOT NULL, updated TEXT NOT NULL, UNIQUE (flow_run_id, task_slug, map_index));
    CREATE INDEX task_run_running ON task_run(flow_run_id) WHERE state = 'Running';
    CREATE INDEX task_run_waiting ON task_run(flow_run_id, state_timestamp) WHERE state IN ('Scheduled', 'Queued', 'Retrying');
    CREATE TABLE task_run_state (id TEXT PRIMARY KEY, task_run_id TEXT NOT NULL, timestamp TEXT NOT NULL, state TEXT NOT NULL,
      message TEXT, serialized_state TEXT NOT NULL, version INTEGER NOT NULL, created TEXT NOT NULL);
    CREATE INDEX task_run_state_run ON task_run_state(task_run_id, timestamp);
    CREATE TABLE log (id TEXT PRIMARY KEY, flow_run_id TEXT NOT NULL, task_run_id TEXT, timestamp TEXT NOT NULL, name TEXT,
      level TEXT NOT NULL, message TEXT NOT NULL, created TEXT NOT NULL);
    CREATE INDEX log_flow_run ON log(flow_run_id, timestamp);
    CREATE INDEX log_task_run ON log(task_run_id);`);
  const now = new Date().toISOString();
  const flowRunId = Bun.randomUUIDv7();
  const taskId = Bun.randomUUIDv7();
  const insertRun = db.prepare("INSERT INTO task_run VALUES (?, ?, ?, 'trivial-1', ?, 0, 'Pending', ?, 'Task run created', ?, ?, ?)");
  const insertState = db.prepare("INSERT INTO task_run_state VALUES (?, ?, ?, 'Success', 'Task run succeeded.', ?, 1, ?)");
  const insertLog = db.prepare("INSERT INTO log VALUES (?, ?, ?, ?, 'prefectlite.FlowRunner', 'INFO', ?, ?)");
  const runIds: string[] = [];
  const state = JSON.stringify({ type: "Success", message: "Task run succeeded.", result: { type: "LocalResult", location: "/tmp/x/2026/1/1/abc.prefect_result" } });
  const started = performance.now();
  const batched = (count: number, write: (i: number) => void) => {
    for (let from = 0; from < count; from += 1000) {
      db.transaction(() => {
        for (let i = from; i < Math.min(count, from + 1000); i++) write(i);
      })();
    }
  };
  batched(rows.task_run ?? 0, (i) => {
    const id = Bun.randomUUIDv7();
    runIds.push(id);
    insertRun.run(id, flowRunId, taskId, i, now, state, now, now);
  });
  batched(rows.task_run_state ?? 0, (i) => insertState.run(Bun.randomUUIDv7(), runIds[i % runIds.length]!, now, state, now));
  if (process.env.PREFECTLITE_BENCH_STATEMENTS) {
    // Also what a state write does besides its history row: read the task run's version, then
    // UPDATE it over that version. Twice per task run (Running, then Success), as the run does.
    const readVersion = db.prepare<{ version: number }, [string]>("SELECT version FROM task_run WHERE id = ?");
    const update = db.prepare("UPDATE task_run SET version = ?, state = ?, state_timestamp = ?, serialized_state = ?, updated = ? WHERE id = ? AND version = ?");
    batched(2 * runIds.length, (i) => {
      const id = runIds[i % runIds.length]!;
      const { version } = readVersion.get(id)!;
      update.run(version + 1, i < runIds.length ? "Running" : "Success", now, state, now, id, version);
    });
  }
  batched(rows.log ?? 0, (i) => insertLog.run(Bun.randomUUIDv7(), flowRunId, runIds[i % runIds.length]!, now, `Task 'trivial[${i}]': Finished task run for task with final state: 'Success'`, now));
  const ms = performance.now() - started;
  db.close();
  process.stdout.write(`${JSON.stringify({ mode, n, ms, state: "Success" })}\n`);
}
