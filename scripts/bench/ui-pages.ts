/**
 * Issue 7's figure: how long the UI's pages take with 10,000 flow runs in the database — the
 * flows page, a flow, the flow runs list (first page and a filtered page) and a flow run with a
 * 100-way map — served over HTTP by the real server, measured from request to the last byte.
 */
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { BackendClient } from "../../src/client/client.ts";
import { registerFlow } from "../../src/client/register.ts";
import { loadFlowsFromFile } from "../../src/loader/load.ts";
import { openBackend } from "../../src/runtime/backend.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { startServer } from "../../src/server/serve.ts";
import { fmt, median } from "./measure.ts";
import type { BenchContext, BenchSection } from "./section.ts";

const ROOT = join(import.meta.dir, "../..");
const RUNS = 10_000;
const TARGET_MS = 200;

export const uiPages: BenchSection = {
  id: "ui-pages",
  title: "UI page load times with 10,000 flow runs",
  async run(ctx: BenchContext): Promise<string> {
    const home = ctx.tempHome();
    const backend = await openBackend(join(home, "prefectlite.db"));
    const client = new BackendClient(embeddedBackend(backend));
    await client.createProject("default");
    const hello = (await loadFlowsFromFile(join(ROOT, "flows/hello_world.ts"))).flows[0]!;
    const mapReduce = (await loadFlowsFromFile(join(ROOT, "flows/map_reduce.ts"))).flows[0]!;
    const helloId = (await registerFlow(client, hello, "default")).id;
    const mapId = (await registerFlow(client, mapReduce, "default")).id;

    ctx.log(`creating ${RUNS} flow runs…`);
    const { services } = backend;
    const mapped = (await services.createFlowRun({ flowId: mapId, parameters: { n: 100 } })).id;
    const outcome = await runBackedFlowRun(client, mapped, { resultsDir: join(home, "results") });
    if (outcome.state !== "Success") throw new Error(`the mapped run ended ${outcome.state}: ${outcome.message}`);
    for (let i = 1; i < RUNS; i++) {
      const { id } = await services.createFlowRun({ flowId: i % 4 === 0 ? mapId : helloId, labels: i % 10 === 0 ? ["etl"] : [] });
      if (i % 3 === 0) await services.cancelFlowRun(id);
    }
    const { query } = backend.storage;
    const counts = { runs: await query.count("flow_run"), taskRuns: await query.count("task_run"), logs: await query.count("log") };
    const versionGroup = (await query.byPk("flow", helloId, ["version_group_id"]))!.version_group_id as string;

    // The server as serve starts it (its host check answers only to the address it listens on).
    const server = startServer({ host: "127.0.0.1", port: 0, schema: await backend.schema(), contextFactory: (info) => backend.context(info.agentId) });
    const base = server.url;
    const pages: Array<[string, string]> = [
      ["flows (`/`)", "/"],
      ["a flow (`/flow/<id>`)", `/flow/${helloId}`],
      ["flow runs, first page (`/flow-runs`)", "/flow-runs"],
      ["flow runs, filtered by flow, state and label, page 3", `/flow-runs?flow=${versionGroup}&state=Cancelled&label=etl&page=3`],
      ["flow runs, page 300 (`/flow-runs?page=300`)", "/flow-runs?page=300"],
      ["a flow run with a 100-way map (`/flow-run/<id>`)", `/flow-run/${mapped}`],
      ["its live update (`/flow-run/<id>/live`)", `/flow-run/${mapped}/live`],
    ];
    const rows: string[] = [];
    try {
      for (const [name, path] of pages) {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < ctx.runs + 2; i++) {
          const started = performance.now();
          const res = await fetch(base + path);
          const body = await res.text();
          const ms = performance.now() - started;
          if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
          bytes = body.length;
          if (i >= 2) times.push(ms); // two warm-up requests
        }
        const m = median(times);
        rows.push(`| ${name} | ${fmt(m)} | ${fmt(Math.max(...times))} | ${Math.round(bytes / 1024)} KB | ${m <= TARGET_MS ? "met" : "NOT met"} |`);
      }
    } finally {
      await server.stop();
      await backend.close();
    }
    return [
      `Database: ${counts.runs} flow runs, ${counts.taskRuns} task runs, ${counts.logs} log lines (one run of map-reduce with n=100 executed; the rest Scheduled or Cancelled).`,
      "",
      `| page | median (ms), ${ctx.runs} requests | slowest (ms) | size | target ≤ ${TARGET_MS} ms |`,
      "| --- | --- | --- | --- | --- |",
      ...rows,
      "",
      "Each request is a `fetch` over HTTP to the server on 127.0.0.1 (startServer, same process), timed from",
      "sending to the last byte of the body, after two warm-up requests.",
    ].join("\n");
  },
};
