/**
 * Issue 6's figures: scheduler lag (a run's due time → its Running state) with 1,000 active
 * interval schedules in one `prefectlite serve`, p50 and p99; and the CPU that serve uses while
 * idle with 1,000 active schedules and nothing due.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import type { BenchContext, BenchSection } from "./section.ts";
import { fmt, median } from "./measure.ts";

const ROOT = join(import.meta.dir, "../..");
const MAIN = join(ROOT, "src/main.ts");
const SCHEDULES = 1000;

/** A flow file with SCHEDULES flows, flow i due every `intervalS` seconds at phase i × `spacingMs`. */
function writeFlows(dir: string, intervalS: number, spacingMs: number, base: number): void {
  mkdirSync(dir, { recursive: true });
  const lines = [
    `import { Flow, IntervalClock, Schedule, task } from "prefectlite";`,
    `const noop = task({ name: "noop" }, () => 1);`,
    `const at = (i: number) => new Schedule({ clocks: [new IntervalClock("${intervalS}s", { startDate: new Date(${base} + i * ${spacingMs}) })] });`,
  ];
  for (let i = 0; i < SCHEDULES; i++) lines.push(`export const f${i} = new Flow("sched-${i}", () => { noop(); }, { schedule: at(${i}) });`);
  writeFileSync(join(dir, "schedules.ts"), `${lines.join("\n")}\n`);
}

interface Serve {
  pid: number;
  stop(): Promise<void>;
}

async function startServe(home: string, flowsDir: string, log: (m: string) => void): Promise<Serve> {
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--port", "0", "--watch", flowsDir, "--project", "bench"], {
    cwd: ROOT,
    env: { ...process.env, PREFECTLITE_HOME: home, PREFECTLITE_LOOP_SECONDS: "10" } as Record<string, string>,
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let out = "";
  // Ready once every flow of the file has been registered (each registration schedules its runs).
  while ((out.match(/Registered 'sched-/g) ?? []).length < SCHEDULES) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited early: ${out.slice(-500)}`);
    out += new TextDecoder().decode(value);
  }
  log("serve is up with the schedules registered");
  // Keep draining its output so it never blocks on a full pipe.
  void (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  return {
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

export const schedulerLag: BenchSection = {
  id: "scheduler-lag",
  title: "Scheduler lag and idle CPU with 1,000 active interval schedules in one serve",
  async run(ctx: BenchContext): Promise<string> {
    // Lag: flow i is due at base + i × 250 ms, every 1,000 s, so 4 runs fall due per second.
    const lagHome = ctx.tempHome();
    const base = Math.ceil(Date.now() / 1000) * 1000 + 180_000;
    writeFlows(join(lagHome, "flows"), 1000, 250, base);
    ctx.log("registering 1,000 scheduled flows (each gets its next 10 runs)…");
    const serve = await startServe(lagHome, join(lagHome, "flows"), ctx.log);
    const measureMs = 30_000;
    try {
      const wait = base + measureMs + 5_000 - Date.now();
      ctx.log(`waiting ${Math.round(wait / 1000)} s for runs to fall due and start…`);
      await Bun.sleep(wait);
    } finally {
      await serve.stop();
    }
    const db = new Database(join(lagHome, "prefectlite.db"), { readonly: true });
    const rows = db
      .query(
        `SELECT scheduled_start_time AS due, start_time AS started FROM flow_run
         WHERE auto_scheduled = 1 AND scheduled_start_time >= ? AND scheduled_start_time < ?`,
      )
      .all(new Date(base).toISOString(), new Date(base + measureMs).toISOString()) as Array<{ due: string; started: string | null }>;
    db.close();
    const lags = rows.filter((r) => r.started).map((r) => Date.parse(r.started!) - Date.parse(r.due)).sort((a, b) => a - b);
    const notStarted = rows.length - lags.length;
    const p99 = lags[Math.min(lags.length - 1, Math.floor(0.99 * lags.length))] ?? Number.NaN;

    // Idle CPU: the same 1,000 schedules, due once a day, nothing due during the measurement.
    const idleHome = ctx.tempHome();
    writeFlows(join(idleHome, "flows"), 86_400, 1000, Date.now() + 3_600_000);
    const idle = await startServe(idleHome, join(idleHome, "flows"), ctx.log);
    let idlePercent: number;
    try {
      await Bun.sleep(5_000);
      const c0 = cpuSeconds(idle.pid);
      const t0 = performance.now();
      await Bun.sleep(30_000);
      idlePercent = ((cpuSeconds(idle.pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
    } finally {
      await idle.stop();
    }
    return [
      `| measure | value |`,
      "| --- | --- |",
      `| runs due in the ${measureMs / 1000} s window | ${rows.length} (${notStarted} not started by its end + 5 s) |`,
      `| lag due → Running, p50 | ${fmt(median(lags), 0)} ms |`,
      `| lag due → Running, p99 | ${fmt(p99, 0)} ms (target ≤ 200 ms: ${p99 <= 200 ? "met" : "NOT met"}) |`,
      `| serve's CPU while idle with 1,000 active schedules (30 s) | ${fmt(idlePercent, 2)}% of one core (target ≤ 2%: ${idlePercent <= 2 ? "met" : "NOT met"}) |`,
      "",
      "Lag is a run's `start_time` (its first Running state, written by the child process executing it)",
      "minus its `scheduled_start_time`; runs fall due 4 per second, one per schedule, and are executed by",
      "serve's in-process agent (one child process per run), so the lag includes starting that process.",
      "Idle CPU is serve's user + system time from /proc over 30 s with every schedule's runs a day away.",
    ].join("\n");
  },
};
