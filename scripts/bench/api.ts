/**
 * Issue 3's figures: create_flow_run mutations per second over HTTP with concurrent clients,
 * against a trivial `{ __typename }` query and a plain Hono JSON route (/health) on the same
 * server; and the latency of flow_run_by_pk with 100 task runs in a 100,000-run database.
 * The server is `prefectlite serve` in its own process; load comes from another process.
 */
import { join } from "node:path";
import { shippedBinary, type BenchContext, type BenchSection } from "./section.ts";
import { fmt, jsonOf, median } from "./measure.ts";
import { startApiServer } from "./serve-process.ts";

const ROOT = join(import.meta.dir, "../..");

async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors[0]!.message);
  return body.data;
}

interface LoadResult {
  rps: number;
  errors: number;
}

const CONCURRENCY = 16;
const DURATION_MS = 3000;

export const apiThroughput: BenchSection = {
  id: "api-throughput",
  title: "API throughput over HTTP: create_flow_run vs a trivial query vs a plain Hono route",
  async run(ctx: BenchContext): Promise<string> {
    const home = ctx.tempHome();
    const server = await startApiServer(home, await shippedBinary(ctx));
    try {
      await graphql(server.url, `mutation { create_project(input: { name: "bench" }) { id } }`);
      const project = await graphql<{ project: Array<{ id: string }> }>(server.url, `{ project { id } }`);
      const serialized = await jsonOf<unknown>([process.execPath, "-e", `
        const { flow } = await import(${JSON.stringify(join(ROOT, "src/hello-world.ts"))});
        const { serializeFlow } = await import(${JSON.stringify(join(ROOT, "src/core/serialize.ts"))});
        console.log(JSON.stringify(serializeFlow(flow)));`]);
      const created = await graphql<{ create_flow: { id: string } }>(
        server.url,
        `mutation ($input: create_flow_input!) { create_flow(input: $input) { id } }`,
        { input: { serialized_flow: serialized, project_id: project.project[0]!.id } },
      );
      const flowId = created.create_flow.id;
      const kinds = ["health", "typename", "create_flow_run"] as const;
      const results: Record<(typeof kinds)[number], LoadResult[]> = { health: [], typename: [], create_flow_run: [] };
      for (let i = 0; i < ctx.runs; i++) {
        for (const kind of kinds) {
          ctx.log(`${kind} round ${i + 1}/${ctx.runs}`);
          results[kind].push(
            await jsonOf<LoadResult>([process.execPath, join(import.meta.dir, "api-load.ts"), server.url, kind, String(CONCURRENCY), String(DURATION_MS), flowId]),
          );
        }
      }
      const floors: Array<{ servicesUs: number; rawUs: number }> = [];
      for (let i = 0; i < ctx.runs; i++) {
        floors.push(await jsonOf<{ servicesUs: number; rawUs: number }>([process.execPath, join(import.meta.dir, "create-worker.ts"), ctx.tempHome()]));
      }
      const servicesUs = median(floors.map((f) => f.servicesUs));
      const rawUs = median(floors.map((f) => f.rawUs));
      const rps = (k: (typeof kinds)[number]) => median(results[k].map((r) => r.rps));
      const errors = (k: (typeof kinds)[number]) => results[k].reduce((a, r) => a + r.errors, 0);
      const create = rps("create_flow_run");
      const trivial = rps("typename");
      const plain = rps("health");
      return [
        `| request (${CONCURRENCY} concurrent clients, ${DURATION_MS / 1000} s each, median of ${ctx.runs}) | requests/s | errors |`,
        "| --- | --- | --- |",
        `| \`GET /health\` (plain Hono JSON route) | ${fmt(plain, 0)} | ${errors("health")} |`,
        `| \`{ __typename }\` over POST /graphql | ${fmt(trivial, 0)} | ${errors("typename")} |`,
        `| \`create_flow_run\` (hello-world: 3 task runs + states each) | ${fmt(create, 0)} | ${errors("create_flow_run")} |`,
        "",
        `create_flow_run ÷ trivial query: ${fmt((create / trivial) * 100, 0)}% (target ≥ 50%: ${create / trivial >= 0.5 ? "met" : "NOT met"}); ` +
          `absolute: ${fmt(create, 0)}/s (target ≥ 5,000/s: ${create >= 5000 ? "met" : "NOT met"}); trivial query ÷ plain route: ${fmt((trivial / plain) * 100, 0)}%.`,
        "",
        `What a create costs below HTTP (\`scripts/bench/create-worker.ts\`, in one process, 2,000 creates per transaction, no commit,`,
        `median of ${ctx.runs}): the services' create_flow_run ${fmt(servicesUs, 0)} µs; plain prepared statements inserting its 8 rows`,
        `${fmt(rawUs, 0)} µs. A trivial query costs ${fmt(1e6 / trivial, 0)} µs per request here, all included: half its rate leaves`,
        `${fmt(2e6 / trivial, 0)} µs per create for everything, and the rows alone take ${fmt((rawUs / (2e6 / trivial)) * 100, 0)}% of that.`,
        "",
        "Server: `dist/prefectlite serve --no-scheduler --no-agent` (the compiled binary) in one process; the load generator",
        "(`scripts/bench/api-load.ts`, fetch loops) in another, so both share the machine's 2 cores.",
        "SQLite in WAL mode with synchronous=NORMAL (a commit survives a crash of the process; the last commits may be lost",
        "on power loss); mutations arriving together share one commit (group commit, each in its own savepoint), and WAL",
        "checkpoints (the only fsyncs) run on a worker thread.",
      ].join("\n");
    } finally {
      await server.stop();
    }
  },
};

export const queryLatency: BenchSection = {
  id: "query-latency",
  title: "Query latency: flow_run_by_pk with 100 task runs in a 100,000-run database",
  async run(ctx: BenchContext): Promise<string> {
    const home = ctx.tempHome();
    ctx.log("seeding 100,000 flow runs…");
    const binary = await shippedBinary(ctx);
    const { flowRunId } = await jsonOf<{ flowRunId: string }>([process.execPath, join(import.meta.dir, "seed-runs.ts"), join(home, "prefectlite.db"), "100000"]);
    const server = await startApiServer(home, binary);
    const query = `query ($id: uuid!) { flow_run_by_pk(id: $id) { id name state version parameters flow { name version }
      task_runs(order_by: { task_slug: asc }) { id task_slug map_index state version serialized_state } } }`;
    try {
      const samples: number[] = [];
      for (let i = 0; i < 200; i++) await graphql(server.url, query, { id: flowRunId });
      let taskRuns = 0;
      for (let i = 0; i < 2000; i++) {
        const t = performance.now();
        const data = await graphql<{ flow_run_by_pk: { task_runs: unknown[] } }>(server.url, query, { id: flowRunId });
        samples.push(performance.now() - t);
        taskRuns = data.flow_run_by_pk.task_runs.length;
      }
      samples.sort((a, b) => a - b);
      const p = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
      return [
        `| flow_run_by_pk over HTTP, ${taskRuns} task runs, 2,000 sequential queries | ms |`,
        "| --- | --- |",
        `| p50 | ${fmt(median(samples), 2)} |`,
        `| p90 | ${fmt(p(0.9), 2)} |`,
        `| p99 | ${fmt(p(0.99), 2)} |`,
        "",
        `Target p50 ≤ 2 ms: ${median(samples) <= 2 ? "met" : "NOT met"}. The database holds 100,000 flow runs and 200,100 task runs`,
        "(seeded with plain SQL by `scripts/bench/seed-runs.ts`); the timing includes the HTTP round trip from",
        "another process (the bench runner) to `prefectlite serve`.",
      ].join("\n");
    } finally {
      await server.stop();
    }
  },
};
