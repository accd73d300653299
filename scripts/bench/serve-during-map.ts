/**
 * Does `serve` keep answering while another process writes the same database hard? A big map
 * (`run --execute` on the embedded database, no --api: the run's process writes the SQLite file
 * itself) runs while `serve` runs on the same home; a prober asks serve, one request after
 * another, a GraphQL read and a GraphQL write (create_project) and records the longest time
 * between two answers, and any errors ("the database is busy").
 *
 *   npx bun scripts/bench/serve-during-map.ts [items=700000]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const MAIN = join(ROOT, "src/main.ts");

const FLOW = `import { Flow, Parameter, task } from "prefectlite";
const items = task({ name: "items" }, (n: number) => Array.from({ length: n }, (_, i) => i));
const inc = task({ name: "inc" }, (x: number) => x + 1);
export const bigMap = new Flow("big-map", () => {
  inc.map(items(Parameter("n", { default: 10 })));
});
`;

export interface ProbeStats {
  answered: number;
  errors: number;
  firstError?: string;
  /** The longest time between two answers (or from the start to the first), ms. */
  longestGapMs: number;
}

export interface ServeDuringMapResult {
  items: number;
  runMs: number;
  runExitCode: number;
  runTail: string;
  reads: ProbeStats;
  writes: ProbeStats;
}

function env(home: string): Record<string, string> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) e[k] = v;
  return { ...e, PREFECTLITE_HOME: home, NO_COLOR: "1" };
}

async function cli(home: string, args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd: ROOT, env: env(home), stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out: out + err };
}

/** Ask `request` again and again (a few ms apart) until `stop`, timing the gaps between answers. */
async function probe(request: (i: number) => Promise<unknown>, stopped: () => boolean): Promise<ProbeStats> {
  const stats: ProbeStats = { answered: 0, errors: 0, longestGapMs: 0 };
  let last = performance.now();
  for (let i = 0; !stopped(); i++) {
    try {
      await request(i);
    } catch (e) {
      stats.errors++;
      stats.firstError ??= (e as Error).message;
    }
    const now = performance.now();
    stats.longestGapMs = Math.max(stats.longestGapMs, now - last);
    last = now;
    stats.answered++;
    await Bun.sleep(5);
  }
  return stats;
}

async function graphql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<unknown> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors[0]!.message);
  return body.data;
}

export async function serveDuringMap(items: number): Promise<ServeDuringMapResult> {
  const home = mkdtempSync(join(tmpdir(), "prefectlite-serve-map-"));
  const flowFile = join(home, "big-map.ts");
  writeFileSync(flowFile, FLOW);
  const serve = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--no-scheduler", "--no-agent"], {
    cwd: ROOT,
    env: env(home),
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const reader = serve.stdout.getReader();
    let out = "";
    while (!/listening on (http:\/\/\S+)/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve exited before listening: ${out}`);
      out += new TextDecoder().decode(value);
    }
    // Keep reading serve's output, so that a full pipe never blocks it.
    void (async () => {
      while (!(await reader.read()).done);
    })();
    const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    await graphql(url, 'mutation { create_project(input: { name: "bench" }) { id } }');
    const registered = await cli(home, ["register", "-p", flowFile, "--project", "bench"]);
    if (registered.code !== 0) throw new Error(`register failed: ${registered.out}`);

    let done = false;
    const reads = probe(() => graphql(url, "query { flow_run(limit: 1) { id state } }"), () => done);
    const writes = probe((i) => graphql(url, "mutation ($name: String!) { create_project(input: { name: $name }) { id } }", { name: `probe-${i}` }), () => done);
    const started = performance.now();
    const run = await cli(home, ["run", "--name", "big-map", "--project", "bench", "--execute", "--param", `n=${items}`, "--log-level", "ERROR"]);
    const runMs = performance.now() - started;
    done = true;
    return {
      items,
      runMs,
      runExitCode: run.code,
      runTail: run.out.split("\n").filter(Boolean).slice(-2).join(" | "),
      reads: await reads,
      writes: await writes,
    };
  } finally {
    serve.kill("SIGTERM");
    await serve.exited;
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const items = Number(process.argv[2] ?? 700_000);
  const r = await serveDuringMap(items);
  const show = (name: string, s: ProbeStats) =>
    `${name}: ${s.answered} answers, longest gap ${s.longestGapMs.toFixed(0)} ms, ${s.errors} errors${s.firstError ? ` (first: ${s.firstError})` : ""}`;
  console.log(`map of ${r.items} items with run --execute: ${(r.runMs / 1000).toFixed(1)} s, exit ${r.runExitCode} (${r.runTail})`);
  console.log(show("serve reads ", r.reads));
  console.log(show("serve writes", r.writes));
}
