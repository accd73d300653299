/**
 * The mapped-result view benchmark's processes. Usage:
 *   bun scripts/bench/view-worker.ts seed HOME N     → writes a finished run whose task `inc-1` is
 *       Mapped over N children, each with its result file; prints { flowRunId }
 *   bun scripts/bench/view-worker.ts measure HOME ID → TaskRunView.getResult() of that parent in
 *       this fresh process; prints { n, ms, rssBeforeMb, peakRssMb }
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { registerFlow } from "../../src/client/register.ts";
import { TaskRunView } from "../../src/client/views/index.ts";
import { LocalResult } from "../../src/core/results.ts";
import { LocalResultStore } from "../../src/engine/result-store.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { Flow, task } from "../../src/index.ts";

const [mode, home, arg] = process.argv.slice(2);
if (!home || !arg || (mode !== "seed" && mode !== "measure")) {
  process.stderr.write("usage: view-worker.ts seed HOME N | measure HOME FLOW_RUN_ID\n");
  process.exit(2);
}

const client = new BackendClient(await openEmbeddedBackend(join(home, "prefectlite.db")));
const results = new LocalResultStore(join(home, "results"));

/** This process's resident set now and at its peak, in MB (Linux /proc; else the peak only). */
function rss(): { now: number; peak: number } {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)![1]) / 1024;
    return { now: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    const peak = process.resourceUsage().maxRSS / 1024;
    return { now: peak, peak };
  }
}

async function setStates(states: Array<{ task_run_id: string; version: number; state: unknown }>) {
  for (let i = 0; i < states.length; i += 1000) {
    await client.graphql(`mutation ($input: set_task_run_states_input!) { set_task_run_states(input: $input) { states { version } } }`, {
      input: { states: states.slice(i, i + 1000) },
    });
  }
}

async function seed(n: number): Promise<string> {
  const inc = task({ name: "inc" }, (x: number) => x + 1);
  const flow = new Flow("bench-view", () => {
    inc.map(Array.from({ length: n }, (_, i) => i));
  });
  await client.createProject("bench");
  const flowId = (await registerFlow(client, flow, "bench")).id;
  const id = await client.createFlowRun({ flowId });
  await client.setFlowRunState(id, 1, { type: "Running", message: "Running flow." });
  const parent = (
    await client.graphql<{ task_run: Array<{ id: string; version: number }> }>(
      `query ($id: uuid!) { task_run(where: { flow_run_id: { _eq: $id }, map_index: { _eq: -1 } }) { id version } }`,
      { id },
    )
  ).task_run[0]!;
  await setStates([{ task_run_id: parent.id, version: parent.version, state: { type: "Running", message: "Starting task run." } }]);
  const children = (
    await client.graphql<{ get_or_create_mapped_task_runs: { task_runs: Array<{ id: string; version: number; map_index: number }> } }>(
      `mutation ($input: get_or_create_mapped_task_runs_input!) { get_or_create_mapped_task_runs(input: $input) { task_runs { id version map_index } } }`,
      { input: { flow_run_id: id, task_slug: "inc-1", count: n } },
    )
  ).get_or_create_mapped_task_runs.task_runs;
  const writes = [];
  for (const c of children) {
    const location = await results.write(c.map_index + 1, new LocalResult(), {
      flowName: "bench-view",
      flowRunId: id,
      flowRunName: "bench",
      taskName: "inc",
      taskSlug: "inc-1",
      taskRunId: c.id,
      mapIndex: c.map_index,
      parameters: {},
    });
    writes.push({ task_run_id: c.id, version: c.version, state: { type: "Success", message: "Task run succeeded.", result: location } });
  }
  await setStates(writes);
  await setStates([{ task_run_id: parent.id, version: parent.version + 1, state: { type: "Mapped", message: "Mapped.", nMapStates: n } }]);
  await client.setFlowRunState(id, 2, { type: "Success", message: "All reference tasks succeeded." });
  return id;
}

if (mode === "seed") {
  process.stdout.write(`${JSON.stringify({ flowRunId: await seed(Number(arg)) })}\n`);
} else {
  await client.graphql(`query { hello }`); // open the database before the clock starts
  const before = rss();
  const started = performance.now();
  const view = await TaskRunView.fromTaskSlug("inc-1", { client, results, flowRunId: arg });
  const values = (await view.getResult()) as number[];
  const ms = performance.now() - started;
  if (!values.every((v, i) => v === i + 1)) throw new Error("getResult() returned the wrong list");
  process.stdout.write(`${JSON.stringify({ n: values.length, ms, rssBeforeMb: before.now, peakRssMb: rss().peak })}\n`);
}
await client.close();
