/**
 * One measurement of scripts/bench/agent.ts in its own process, printing one JSON line.
 *   bun agent-worker.ts latency N HOME [CHILDREN WARM] — serve (in-process agent) in this process; N runs
 *       created one after another through HTTP, each once the previous finished; create → Running from
 *       the run's own state timestamps. CHILDREN: http (default) | database — how the agent's children
 *       reach the backend; WARM: the agent's warm children (default: its default)
 *   bun agent-worker.ts latency-idle N HOME — the same, but each run is created once the agent is idle
 *       again (its warm children ready): the latency of a run that finds the agent not busy
 *   bun agent-worker.ts agent-runs N HOME [CHILDREN WARM RUNS_PER_PROCESS WHERE] — N hello-world runs one after
 *       another through serve's agent (a child process each, or RUNS_PER_PROCESS runs per warm child), wall time
 *       and each run's time; WHERE "remote": through a remote agent instead (`prefectlite agent start --api URL`,
 *       the binary, in a process of its own; serve here runs none)
 *   bun agent-worker.ts warm-runs N HOME — N hello-world runs one after another, created and executed
 *       by the backed runner in one warm process on the embedded database (no child per run)
 *   bun agent-worker.ts raw-runs N HOME — the floor under warm-runs: plain bun:sqlite on the same database running the
 *       statements of N hello-world runs (create: 8 rows; read the run; Running; the last batch: 6 task-run state
 *       changes, 9 log lines, the final state — three transactions) and writing each run's two result files
 *   bun agent-worker.ts fanout-warm N HOME — N fan-out runs one after another in one process (each timed:
 *       the first pays the process's JIT warm-up) / fanout-agent N HOME [… RUNS_PER_PROCESS WHERE] — N fan-out runs
 *       one after another through serve's (or a remote) agent, each timed
 *   bun agent-worker.ts execute-cold N HOME — N times `prefectlite run --name hello-world --execute` (the binary) from a
 *       fresh process to its exit, on the embedded database, each timed
 */
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { serve } from "../../src/runtime/serve.ts";
import type { Services } from "../../src/services/index.ts";

const [mode, nText, home, childrenArg, warmArg, runsPerProcessArg, whereArg] = process.argv.slice(2);
const agentChildBackend = childrenArg === "database" ? "database" : "http";
const agentWarmProcesses = warmArg === undefined || warmArg === "" ? undefined : Number(warmArg);
const agentRunsPerProcess = runsPerProcessArg === undefined || runsPerProcessArg === "" ? undefined : Number(runsPerProcessArg);
const remoteAgent = whereArg === "remote";
const n = Number(nText);
process.env.PREFECTLITE_HOME = home!;

const FANOUT = join(import.meta.dir, "fanout-flow.ts");

/** Register hello-world and the fan-out flow with the real CLI, on this home's database. */
function registerWithCli(): void {
  // With binary children, register with the binary too: its built-in hello world is minified, so
  // its serialized hash differs from the source's and a child would refuse the source's registration.
  const binary = process.env.BENCH_AGENT_EXECUTABLE;
  const cli = binary && mode !== "warm-runs" && mode !== "fanout-warm" ? [binary] : [process.execPath, join(import.meta.dir, "../../src/main.ts")];
  for (const args of [["create", "project", "bench"], ["register", "-m", "prefectlite.hello_world", "-p", FANOUT, "--project", "bench"]]) {
    const r = Bun.spawnSync([...cli, ...args], { env: { ...process.env, PREFECTLITE_HOME: home! } });
    if (r.exitCode !== 0) throw new Error(`prefectlite ${args.join(" ")} failed: ${r.stderr.toString()}`);
  }
}

async function flowIds(client: BackendClient): Promise<{ hello: string; fanout: string }> {
  return { hello: (await client.latestFlow("hello-world", "bench"))!.id, fanout: (await client.latestFlow("fanout", "bench"))!.id };
}

const FINAL = new Set(["Success", "Failed", "Cancelled"]);

/**
 * When a run's final state has been written (serve runs in this process): the services' two
 * writers of flow-run states are wrapped, and `finished(id)` resolves once a final state of that
 * run was committed. Polling for it instead — over HTTP, or on the database file — would load
 * the very event loop being measured (a look at the file costs ~100 µs while runs are written).
 */
function watchFinalStates(services: Services): (id: string) => Promise<string> {
  const done = new Map<string, string>();
  const waiting = new Map<string, (state: string) => void>();
  const saw = (id: string, state: unknown) => {
    const type = (state as { type?: string } | null)?.type;
    if (!type || !FINAL.has(type)) return;
    const waiter = waiting.get(id);
    if (waiter) {
      waiting.delete(id);
      waiter(type);
    } else done.set(id, type);
  };
  const setFlowRunStates = services.setFlowRunStates.bind(services);
  services.setFlowRunStates = async (items, options) => {
    const written = await setFlowRunStates(items, options);
    for (const item of items) saw(item.flowRunId, item.state);
    return written;
  };
  const writeRunBatch = services.writeRunBatch.bind(services);
  services.writeRunBatch = async (batch) => {
    const written = await writeRunBatch(batch);
    if (batch.flowRunState) saw(batch.flowRunState.flowRunId, batch.flowRunState.state);
    return written;
  };
  return (id) => {
    const state = done.get(id);
    if (state) return Promise.resolve(state);
    return new Promise((resolve) => waiting.set(id, resolve));
  };
}

if (mode === "latency" || mode === "latency-idle" || mode === "agent-runs" || mode === "fanout-agent") {
  registerWithCli();
  const agentExecutable = process.env.BENCH_AGENT_EXECUTABLE || undefined;
  const running = await serve({
    host: "127.0.0.1",
    port: 0,
    project: "bench",
    log: () => {},
    agent: !remoteAgent,
    agentChildBackend,
    agentWarmProcesses,
    agentRunsPerProcess,
    agentExecutable,
  });
  const remote = remoteAgent ? await startRemoteAgent(running.url) : undefined;
  const agent = running.agent;
  /** Until the agent has no run in hand and all its warm children are ready (a remote agent: a second to start them). */
  const idle = async () => {
    if (!agent) return void (await Bun.sleep(1500));
    while (agent.running.length > 0 || agent.warm.ready < agent.warm.size) {
      await agent.warmReady();
      await Bun.sleep(1);
    }
  };
  await idle(); // the measurement starts with serve up, as a user finds it
  const client = new BackendClient(new HttpBackend(running.url));
  const ids = await flowIds(client);
  const flowId = mode === "fanout-agent" ? ids.fanout : ids.hello;
  const finished = watchFinalStates(running.backend.services);
  const creator = await createThread(running.url, flowId);
  const latencies: number[] = [];
  const each: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (mode === "latency-idle") await idle();
    const started = performance.now();
    const id = await creator.create();
    const state = await finished(id);
    each.push(performance.now() - started);
    if (state !== "Success") throw new Error(`run ${id} ended ${state}`);
    if (mode.startsWith("latency")) {
      const rows = (await running.backend.storage.query.select(
        "flow_run_state",
        { where: { flow_run_id: { _eq: id }, state: { _in: ["Scheduled", "Running"] } }, order_by: { version: "asc" } },
        ["state", "timestamp"],
      )) as Array<{ state: string; timestamp: string }>;
      latencies.push(Date.parse(rows.find((r) => r.state === "Running")!.timestamp) - Date.parse(rows[0]!.timestamp));
    }
  }
  const ms = performance.now() - t0;
  await creator.close();
  await client.close();
  if (remote) {
    remote.kill("SIGTERM");
    await remote.exited;
  }
  await running.stop();
  console.log(JSON.stringify({ mode, n, ms, latencies, each }));
} else if (mode === "execute-cold") {
  registerWithCli();
  const binary = process.env.BENCH_AGENT_EXECUTABLE!;
  const each: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const r = Bun.spawnSync([binary, "run", "--name", "hello-world", "--execute"], { env: { ...process.env, PREFECTLITE_HOME: home! } });
    each.push(performance.now() - started);
    if (r.exitCode !== 0) throw new Error(`run --execute exited ${r.exitCode}: ${r.stderr.toString()}`);
  }
  console.log(JSON.stringify({ mode, n, ms: each.reduce((a, b) => a + b, 0), each }));
} else if (mode === "raw-runs") {
  registerWithCli();
  console.log(JSON.stringify({ mode, n, ...(await rawHelloWorldRuns(n)) }));
} else {
  registerWithCli();
  const backendClient = new BackendClient(await openEmbeddedBackend());
  const ids = await flowIds(backendClient);
  const flowId = mode === "fanout-warm" ? ids.fanout : ids.hello;
  const each: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const id = await backendClient.createFlowRun({ flowId });
    const outcome = await runBackedFlowRun(backendClient, id, {});
    if (outcome.state !== "Success") throw new Error(`run ${id} ended ${outcome.state}: ${outcome.message}`);
    each.push(performance.now() - started);
  }
  const ms = performance.now() - t0;
  await backendClient.close();
  console.log(JSON.stringify({ mode, n, ms, each }));
}

/** See raw-runs above: each run's statements as the backend runs them, with none of its checks or JavaScript. */
async function rawHelloWorldRuns(count: number): Promise<{ ms: number; each: number[] }> {
  const { Database } = await import("bun:sqlite");
  const { startBackgroundCheckpoints } = await import("../../src/storage/sqlite/checkpoints.ts");
  const path = join(home!, "prefectlite.db");
  const db = new Database(path, { strict: true });
  db.exec("PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY");
  const checkpoints = startBackgroundCheckpoints(db, path); // as the product does
  const flow = db.query("SELECT id, flow_group_id FROM flow WHERE name = 'hello-world'").get() as { id: string; flow_group_id: string };
  const tasks = db.query("SELECT id, slug FROM task WHERE flow_id = ? ORDER BY slug").all(flow.id) as Array<{ id: string; slug: string }>;
  const q = {
    insertRun: db.query(`INSERT INTO flow_run (id, flow_id, name, parameters, context, labels, run_config, scheduled_start_time, auto_scheduled,
        version, state, state_timestamp, state_message, state_start_time, serialized_state, created, updated)
      VALUES ($id, $flow, 'raw-run', '{"name":"world"}', '{}', '[]', '{"type":"UniversalRun"}', $t, 0, 1, 'Scheduled', $t, 'Flow run scheduled.', $t, $s, $t, $t)`),
    runHistory: db.query(`INSERT INTO flow_run_state (id, flow_run_id, timestamp, state, message, start_time, serialized_state, version, created)
      VALUES ($id, $run, $t, $state, 'x', NULL, $s, $v, $t)`),
    insertTask: db.query(`INSERT INTO task_run (id, flow_run_id, task_id, task_slug, map_index, version, state, state_timestamp, state_message, serialized_state, created, updated)
      VALUES ($id, $run, $task, $slug, -1, 1, 'Pending', $t, 'Task run created', $s, $t, $t)`),
    taskHistory: db.query(`INSERT INTO task_run_state (id, task_run_id, timestamp, state, message, result, serialized_state, version, created)
      VALUES ($id, $tr, $t, $state, 'x', $r, $s, $v, $t)`),
    readRun: db.query("SELECT * FROM flow_run WHERE id = $id"),
    readFlow: db.query("SELECT * FROM flow WHERE id = $id"),
    readGroup: db.query("SELECT * FROM flow_group WHERE id = $id"),
    readTasks: db.query("SELECT id, task_slug, map_index, version, state, serialized_state FROM task_run WHERE flow_run_id = $run"),
    runVersion: db.query("SELECT version, state FROM flow_run WHERE id = $id"),
    taskVersion: db.query("SELECT id, flow_run_id, version, state FROM task_run WHERE id = $id"),
    updateRun: db.query(`UPDATE flow_run SET version = $v, state = $state, state_timestamp = $t, serialized_state = $s, updated = $t,
      heartbeat = $t, start_time = COALESCE(start_time, $t) WHERE id = $id AND version = $old`),
    updateTask: db.query(`UPDATE task_run SET version = $v, state = $state, state_timestamp = $t, state_result = $r, serialized_state = $s, updated = $t,
      start_time = COALESCE(start_time, $t), end_time = $t WHERE id = $id AND version = $old`),
    log: db.query(`INSERT INTO log (id, flow_run_id, task_run_id, timestamp, name, level, message, created)
      VALUES ($id, $run, $tr, $t, 'prefectlite.TaskRunner', 'INFO', $m, $t)`),
  };
  const resultsDir = join(home!, "results", "raw");
  await Bun.write(join(resultsDir, ".keep"), "");
  const each: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const t = new Date().toISOString();
    const s = (state: string) => JSON.stringify({ type: state, message: "x", timestamp: t });
    const run = Bun.randomUUIDv7();
    const taskRuns = tasks.map(() => Bun.randomUUIDv7());
    db.transaction(() => {
      q.insertRun.run({ id: run, flow: flow.id, t, s: s("Scheduled") });
      q.runHistory.run({ id: Bun.randomUUIDv7(), run, t, state: "Scheduled", s: s("Scheduled"), v: 1 });
      tasks.forEach((task, k) => {
        q.insertTask.run({ id: taskRuns[k]!, run, task: task.id, slug: task.slug, t, s: s("Pending") });
        q.taskHistory.run({ id: Bun.randomUUIDv7(), tr: taskRuns[k]!, t, state: "Pending", r: null, s: s("Pending"), v: 1 });
      });
    }).immediate();
    q.readRun.get({ id: run });
    q.readFlow.get({ id: flow.id });
    q.readGroup.get({ id: flow.flow_group_id });
    q.readTasks.all({ run });
    db.transaction(() => {
      const { version } = q.runVersion.get({ id: run }) as { version: number };
      q.updateRun.run({ id: run, old: version, v: version + 1, state: "Running", t, s: s("Running") });
      q.runHistory.run({ id: Bun.randomUUIDv7(), run, t, state: "Running", s: s("Running"), v: version + 1 });
    }).immediate();
    const results = await Promise.all(
      [1, 2].map(async () => {
        const location = join(resultsDir, `${Bun.randomUUIDv7()}.prefect_result`);
        await Bun.write(location, JSON.stringify({ value: "Hello, world!" }), { createPath: false });
        return JSON.stringify({ type: "LocalResult", location });
      }),
    );
    db.transaction(() => {
      taskRuns.forEach((tr, k) => {
        const { version } = q.taskVersion.get({ id: tr }) as { version: number };
        const r = k === 0 ? null : results[k - 1]!;
        q.updateTask.run({ id: tr, old: version, v: version + 2, state: "Success", t, r, s: s("Success") });
        q.taskHistory.run({ id: Bun.randomUUIDv7(), tr, t, state: "Running", r: null, s: s("Running"), v: version + 1 });
        q.taskHistory.run({ id: Bun.randomUUIDv7(), tr, t, state: "Success", r, s: s("Success"), v: version + 2 });
      });
      for (let line = 0; line < 9; line++) q.log.run({ id: Bun.randomUUIDv7(), run, tr: taskRuns[line % 3]!, t, m: `Task 'say_hello': line ${line}` });
      const { version } = q.runVersion.get({ id: run }) as { version: number };
      q.updateRun.run({ id: run, old: version, v: version + 1, state: "Success", t, s: s("Success") });
      q.runHistory.run({ id: Bun.randomUUIDv7(), run, t, state: "Success", s: s("Success"), v: version + 1 });
    }).immediate();
    each.push(performance.now() - started);
  }
  const ms = performance.now() - t0;
  checkpoints.stop();
  db.close();
  return { ms, each };
}

/** `prefectlite agent start --api URL` (the binary) in a process of its own, once it says it started. */
async function startRemoteAgent(url: string): Promise<ReturnType<typeof Bun.spawn>> {
  const binary = process.env.BENCH_AGENT_EXECUTABLE!;
  const args = ["agent", "start", "--api", url, ...(agentRunsPerProcess ? ["--runs-per-process", String(agentRunsPerProcess)] : [])];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
  const proc = Bun.spawn([binary, ...args], { env: { ...env, PREFECTLITE_HOME: home! }, stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("started:")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`agent start exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  void (async () => {
    for (;;) if ((await reader.read()).done) return;
  })();
  return proc;
}

/** scripts/bench/create-thread.ts started and pointed at the server: `create()` makes one run there. */
async function createThread(url: string, flowId: string): Promise<{ create(): Promise<string>; close(): Promise<void> }> {
  const worker = new Worker(join(import.meta.dir, "create-thread.ts"));
  let answer: (data: { id?: string }) => void = () => {};
  worker.onmessage = (event: MessageEvent<{ id?: string }>) => answer(event.data);
  const next = () => new Promise<{ id?: string }>((resolve) => (answer = resolve));
  let reply = next();
  worker.postMessage({ url, flowId });
  await reply;
  return {
    async create() {
      reply = next();
      worker.postMessage("create");
      return (await reply).id!;
    },
    async close() {
      reply = next();
      worker.postMessage("close");
      await reply;
      worker.terminate();
    },
  };
}
