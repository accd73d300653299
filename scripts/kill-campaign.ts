/**
 * `npx bun scripts/kill-campaign.ts [--mode serve-agent|remote-agent|execute]… [--variant plain|retries]…
 *   [--trials 20] [--parallel 3] [--repo DIR]`: the durability campaign of issue 13. Not a test
 * (it is about timing); a harness to measure with, before and after a change.
 *
 * Each trial runs a flow of 5 sequential tasks, each appending its name to a file of its run, and
 * SIGKILLs the process executing the run at a random 0–1 s after its first task started. The
 * backend's safeguards (zombie killer, Lazarus: short intervals) then finish the run. Counted:
 * - redone: a task appended twice after its downstream task had started (work redone on resume);
 * - twice: tasks appended twice at all (with `maxRetries: 1` at most the one in flight may be);
 * - logs missing: log lines of tasks whose Success is stored (its start, its own line, its end) that are not;
 * - runs that never reach a final state (within 60 s), and runs that ended Failed;
 * - task runs left unfinished (Pending, Running, Retrying…) in a run that reached a final state.
 *
 * Modes: `serve-agent` (serve's in-process agent starts the run's process), `remote-agent`
 * (`serve --no-agent` plus `agent start --api URL`: the run's process talks HTTP), `execute`
 * (`run --execute` on the embedded database beside a `serve` for the safeguards; its child is killed),
 * `execute-both` (the same, with the CLI killed together with its child: only the safeguards are left).
 * `--repo DIR` runs another checkout's prefectlite (e.g. the code before a change).
 *
 * `--outage [--down 20] [--runs 12]` instead takes the server away mid-load: `serve --no-agent` and
 * `agent start --api URL` (the safeguards at their defaults, as a real install has them), runs of
 * the `maxRetries: 1` flow started a few at a time, `serve` SIGKILLed 1 s in and started again on
 * the same port and database `--down` seconds later. Counted: tasks run twice, runs Failed, runs
 * that never reach a final state.
 */
import { Database } from "bun:sqlite";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

type Mode = "serve-agent" | "remote-agent" | "execute" | "execute-both";
type Variant = "plain" | "retries";
const MODES: readonly Mode[] = ["serve-agent", "remote-agent", "execute", "execute-both"];
const UNFINISHED_TASK_STATES = new Set(["Pending", "Running", "Retrying", "Scheduled", "Submitted", "Queued", "Paused", "Resume"]);
const VARIANTS: readonly Variant[] = ["plain", "retries"];
const FINISHED = new Set(["Success", "Failed", "Cancelled", "TimedOut", "TriggerFailed", "Skipped"]);
const FAST_SAFEGUARDS = {
  PREFECTLITE_HEARTBEAT_SECONDS: "0.2",
  PREFECTLITE_ZOMBIE_MISSED_HEARTBEATS: "2",
  PREFECTLITE_LAZARUS_AFTER_SECONDS: "3",
  PREFECTLITE_LOOP_SECONDS: "0.2",
  PREFECTLITE_AGENT_POLL_SECONDS: "0.2",
};
const STEPS = 5;
const FINAL_WITHIN_MS = 60_000;

/** The campaign's flows; they find their folder through their own path (no environment needed). */
const FLOW_FILE = `
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { Flow, context, task } from "prefectlite";

const step = (n: number, maxRetries: number) =>
  task({ name: "step" + n, maxRetries, retryDelayMs: 0 }, async (previous: number) => {
    const ctx = context();
    appendFileSync(join(import.meta.dir, ctx.flowRunId + ".pid"), process.pid + "\\n");
    appendFileSync(join(import.meta.dir, ctx.flowRunId + ".lines"), "step" + n + "\\n");
    ctx.logger.info("appended step" + n);
    await Bun.sleep(200);
    return previous + 1;
  });

function chain(name: string, maxRetries: number) {
  const steps = Array.from({ length: ${STEPS} }, (_, i) => step(i + 1, maxRetries));
  return new Flow(name, () => {
    let value = steps[0]!(0);
    for (const s of steps.slice(1)) value = s(value);
  });
}

export const campaignPlain = chain("campaign-plain", 0);
export const campaignRetries = chain("campaign-retries", 1);
`;

interface Options {
  outage?: { downSeconds: number; runs: number };
  modes: Mode[];
  variants: Variant[];
  trials: number;
  parallel: number;
  repo: string;
}

function parseArgs(argv: string[]): Options {
  const modes: Mode[] = [];
  const variants: Variant[] = [];
  let trials = 20;
  let parallel = 3;
  let repo = resolve(import.meta.dir, "..");
  let outage = false;
  let downSeconds = 20;
  let runs = 12;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === "--mode") {
      const m = value() as Mode;
      if (!MODES.includes(m)) fail(`--mode must be one of ${MODES.join(", ")}`);
      modes.push(m);
    } else if (a === "--variant") {
      const v = value() as Variant;
      if (!VARIANTS.includes(v)) fail(`--variant must be one of ${VARIANTS.join(", ")}`);
      variants.push(v);
    } else if (a === "--trials") trials = Number(value());
    else if (a === "--parallel") parallel = Number(value());
    else if (a === "--repo") repo = resolve(value());
    else if (a === "--outage") outage = true;
    else if (a === "--down") downSeconds = Number(value());
    else if (a === "--runs") runs = Number(value());
    else fail(`unknown argument ${a}`);
  }
  if (!Number.isInteger(trials) || trials < 1) fail("--trials must be a whole number ≥ 1");
  if (!Number.isInteger(parallel) || parallel < 1) fail("--parallel must be a whole number ≥ 1");
  if (!existsSync(join(repo, "src/main.ts"))) fail(`--repo ${repo} has no src/main.ts`);
  if (!(downSeconds > 0) || !Number.isInteger(runs) || runs < 1) fail("--down must be a positive number of seconds and --runs a whole number ≥ 1");
  return {
    outage: outage ? { downSeconds, runs } : undefined,
    modes: modes.length ? modes : [...MODES],
    variants: variants.length ? variants : [...VARIANTS],
    trials,
    parallel,
    repo,
  };
}

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(2);
}

interface Proc {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
}

function start(repo: string, args: string[], env: Record<string, string>): Proc {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) base[k] = v;
  const proc = Bun.spawn([process.execPath, join(repo, "src/main.ts"), ...args], {
    cwd: repo,
    env: { ...base, NO_COLOR: "1", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return { proc, output: () => text };
}

async function until<T>(check: () => T | undefined | false, what: string, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data!;
}

interface TrialResult {
  finalState: string | undefined;
  executed: number;
  twice: number;
  redone: number;
  logsMissing: number;
  /** Task runs not in a final state although their flow run is. */
  unfinishedTasks: number;
  killed: boolean;
}

interface Setup {
  home: string;
  flowsDir: string;
  url: string;
  processes: Proc[];
}

async function setUp(o: Options, mode: Mode): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), "kill-campaign-home-"));
  const flowsDir = mkdtempSync(join(tmpdir(), "kill-campaign-flows-"));
  const flowFile = join(flowsDir, "campaign.ts");
  writeFileSync(flowFile, FLOW_FILE);
  const env = { PREFECTLITE_HOME: home, ...FAST_SAFEGUARDS };
  const once = async (args: string[]) => {
    const p = start(o.repo, args, env);
    if ((await p.proc.exited) !== 0) throw new Error(`prefectlite ${args.join(" ")} failed:\n${p.output()}`);
  };
  await once(["create", "project", "campaign"]);
  await once(["register", "-p", flowFile, "--project", "campaign"]);
  const serve = start(o.repo, ["serve", "--port", "0", ...(mode === "remote-agent" ? ["--no-agent"] : [])], env);
  const url = await until(() => serve.output().match(/listening on (http:\/\/\S+)/)?.[1], "serve to listen", 30_000);
  const processes = [serve];
  if (mode === "remote-agent") {
    const agent = start(o.repo, ["agent", "start", "--api", url], env);
    processes.push(agent);
    await Bun.sleep(500);
  }
  return { home, flowsDir, url, processes };
}

async function tearDown(s: Setup): Promise<void> {
  for (const p of [...s.processes].reverse()) {
    p.proc.kill("SIGTERM");
    await p.proc.exited;
  }
  rmSync(s.home, { recursive: true, force: true });
  rmSync(s.flowsDir, { recursive: true, force: true });
}

const flowName = (variant: Variant) => (variant === "plain" ? "campaign-plain" : "campaign-retries");
const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []);

async function trial(o: Options, s: Setup, mode: Mode, variant: Variant, db: Database): Promise<TrialResult> {
  let runId: string;
  let executor: Proc | undefined;
  if (mode === "execute" || mode === "execute-both") {
    executor = start(o.repo, ["run", "--name", flowName(variant), "--project", "campaign", "--execute"], { PREFECTLITE_HOME: s.home, ...FAST_SAFEGUARDS });
    runId = await until(() => executor!.output().match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)?.[0], "the run's id", 30_000);
  } else {
    const flow = await graphql<{ flow: Array<{ id: string }> }>(
      s.url,
      `query ($name: String!) { flow(where: { name: { _eq: $name }, archived: { _eq: false } }, order_by: { version: desc }, limit: 1) { id } }`,
      { name: flowName(variant) },
    );
    const created = await graphql<{ create_flow_run: { id: string } }>(s.url, `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`, {
      input: { flow_id: flow.flow[0]!.id },
    });
    runId = created.create_flow_run.id;
  }
  const pidFile = join(s.flowsDir, `${runId}.pid`);
  const linesFile = join(s.flowsDir, `${runId}.lines`);
  const pid = Number(await until(() => lines(pidFile)[0], "the run's first task", 60_000));
  await Bun.sleep(Math.random() * 1000);
  let killed = false;
  try {
    process.kill(pid, "SIGKILL");
    killed = true;
  } catch {
    // It had already ended (the run finished before the kill).
  }
  if (mode === "execute-both") executor!.proc.kill("SIGKILL");
  const state = () => (db.query("SELECT state FROM flow_run WHERE id = $id").get({ $id: runId }) as { state: string } | null)?.state;
  let finalState: string | undefined;
  try {
    finalState = await until(() => (FINISHED.has(state() ?? "") ? state() : undefined), "a final state", FINAL_WITHIN_MS);
  } catch {
    finalState = undefined;
  }
  if (executor) await executor.proc.exited;
  // Let a late writer (a process still running) settle before counting.
  await Bun.sleep(300);

  const appended = lines(linesFile);
  let twice = 0;
  let redone = 0;
  for (let n = 1; n <= STEPS; n++) {
    const at = appended.flatMap((l, i) => (l === `step${n}` ? [i] : []));
    if (at.length < 2) continue;
    twice += at.length - 1;
    const downstream = appended.indexOf(`step${n + 1}`);
    if (downstream >= 0 && downstream < at[at.length - 1]!) redone++;
  }
  const taskRuns = db.query("SELECT id, task_slug, state FROM task_run WHERE flow_run_id = $id").all({ $id: runId }) as Array<{ id: string; task_slug: string; state: string }>;
  let logsMissing = 0;
  const unfinishedTasks = finalState === undefined ? 0 : taskRuns.filter((tr) => UNFINISHED_TASK_STATES.has(tr.state)).length;
  for (const tr of taskRuns) {
    // A Success is the runner's own (a safeguard's Failed comes with the safeguard's log line).
    if (tr.state !== "Success") continue;
    const messages = new Set((db.query("SELECT message FROM log WHERE task_run_id = $id").all({ $id: tr.id }) as Array<{ message: string }>).map((r) => r.message));
    const name = tr.task_slug.replace(/-\d+$/, "");
    const expected = [`Task '${name}': Starting task run...`, `appended ${name}`, `Task '${name}': Finished task run for task with final state: 'Success'`];
    logsMissing += expected.filter((m) => !messages.has(m)).length;
  }
  return { finalState, executed: appended.length, twice, redone, logsMissing, unfinishedTasks, killed };
}

interface Row {
  mode: Mode;
  variant: Variant;
  results: TrialResult[];
}

async function campaign(o: Options, mode: Mode, variant: Variant): Promise<Row> {
  const s = await setUp(o, mode);
  const db = new Database(join(s.home, "prefectlite.db"), { readonly: true });
  const results: TrialResult[] = [];
  try {
    let next = 0;
    const worker = async () => {
      while (next < o.trials) {
        next++;
        try {
          results.push(await trial(o, s, mode, variant, db));
        } catch (e) {
          process.stderr.write(`${mode}/${variant}: trial failed: ${(e as Error).message}\n`);
          results.push({ finalState: undefined, executed: 0, twice: 0, redone: 0, logsMissing: 0, unfinishedTasks: 0, killed: false });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.parallel, o.trials) }, worker));
  } finally {
    db.close();
    await tearDown(s);
  }
  return { mode, variant, results };
}

function table(rows: Row[]): string {
  const head = ["mode", "variant", "trials", "killed", "redone after downstream started", "tasks run twice", "runs with >1 task twice", "log lines missing", "never final", "task runs unfinished in a final run", "Failed", "Success"];
  const body = rows.map(({ mode, variant, results: r }) => [
    mode,
    variant,
    String(r.length),
    String(r.filter((t) => t.killed).length),
    String(r.reduce((n, t) => n + t.redone, 0)),
    String(r.reduce((n, t) => n + t.twice, 0)),
    String(r.filter((t) => t.twice > 1).length),
    String(r.reduce((n, t) => n + t.logsMissing, 0)),
    String(r.filter((t) => t.finalState === undefined).length),
    String(r.reduce((n, t) => n + t.unfinishedTasks, 0)),
    String(r.filter((t) => t.finalState === "Failed").length),
    String(r.filter((t) => t.finalState === "Success").length),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

/** The server away mid-load (see the file's comment). */
async function outageCampaign(o: Options, downSeconds: number, runs: number): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "kill-campaign-home-"));
  const flowsDir = mkdtempSync(join(tmpdir(), "kill-campaign-flows-"));
  const flowFile = join(flowsDir, "campaign.ts");
  writeFileSync(flowFile, FLOW_FILE);
  const env = { PREFECTLITE_HOME: home, PREFECTLITE_AGENT_POLL_SECONDS: "0.2" };
  for (const args of [["create", "project", "campaign"], ["register", "-p", flowFile, "--project", "campaign"]]) {
    const p = start(o.repo, args, env);
    if ((await p.proc.exited) !== 0) throw new Error(`prefectlite ${args.join(" ")} failed:\n${p.output()}`);
  }
  const startServe = (port: string) => start(o.repo, ["serve", "--port", port, "--no-agent"], env);
  let serve = startServe("0");
  const url = await until(() => serve.output().match(/listening on (http:\/\/\S+)/)?.[1], "serve to listen", 30_000);
  const port = new URL(url).port;
  const agent = start(o.repo, ["agent", "start", "--api", url, "--concurrency", String(runs)], env);
  const db = new Database(join(home, "prefectlite.db"), { readonly: true });
  try {
    const flow = await graphql<{ flow: Array<{ id: string }> }>(
      url,
      `query ($name: String!) { flow(where: { name: { _eq: $name }, archived: { _eq: false } }, order_by: { version: desc }, limit: 1) { id } }`,
      { name: flowName("retries") },
    );
    const ids: string[] = [];
    const create = async () => {
      const created = await graphql<{ create_flow_run: { id: string } }>(url, `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`, {
        input: { flow_id: flow.flow[0]!.id },
      });
      ids.push(created.create_flow_run.id);
    };
    for (let i = 0; i < runs; i++) await create();
    // 1 s after the first task started somewhere, the server goes away.
    await until(() => ids.some((id) => lines(join(flowsDir, `${id}.pid`)).length > 0), "a first task", 60_000);
    await Bun.sleep(1000);
    serve.proc.kill("SIGKILL");
    await serve.proc.exited;
    await Bun.sleep(downSeconds * 1000);
    serve = startServe(port);
    await until(() => /listening on/.test(serve.output()), "serve to listen again", 30_000);
    const state = (id: string) => (db.query("SELECT state FROM flow_run WHERE id = $id").get({ $id: id }) as { state: string } | null)?.state ?? "";
    await until(() => ids.every((id) => FINISHED.has(state(id))) || undefined, "every run to finish", FINAL_WITHIN_MS).catch(() => undefined);
    let twice = 0;
    let executed = 0;
    for (const id of ids) {
      const appended = lines(join(flowsDir, `${id}.lines`));
      executed += appended.length;
      twice += appended.length - new Set(appended).size;
    }
    const states = ids.map(state);
    const row = [
      String(runs),
      String(downSeconds),
      String(executed),
      String(twice),
      String(states.filter((s) => s === "Failed").length),
      String(states.filter((s) => !FINISHED.has(s)).length),
      String(states.filter((s) => s === "Success").length),
    ];
    const head = ["runs", "server down (s)", "tasks executed", "tasks run twice", "Failed", "never final", "Success"];
    const widths = head.map((h, i) => Math.max(h.length, row[i]!.length));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
    return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, line(row)].join("\n");
  } finally {
    db.close();
    for (const p of [agent, serve]) {
      p.proc.kill("SIGTERM");
      await p.proc.exited;
    }
    rmSync(home, { recursive: true, force: true });
    rmSync(flowsDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const o = parseArgs(process.argv.slice(2));
  if (o.outage) {
    process.stdout.write(`${await outageCampaign(o, o.outage.downSeconds, o.outage.runs)}\n`);
    process.exit(0);
  }
  const rows: Row[] = [];
  for (const mode of o.modes) {
    for (const variant of o.variants) {
      const row = await campaign(o, mode, variant);
      rows.push(row);
      process.stderr.write(`${mode}/${variant}: done\n`);
      if (process.env.KILL_CAMPAIGN_LOG) appendFileSync(process.env.KILL_CAMPAIGN_LOG, `${JSON.stringify(row)}\n`);
    }
  }
  process.stdout.write(`${table(rows)}\n`);
}
