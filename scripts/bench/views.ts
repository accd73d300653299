/**
 * Issue 5: TaskRunView.getResult() of a mapped parent with 10,000 children — each child's
 * location read from the backend a page at a time, its JSON result file read 32 at a time.
 * Seeded once; each measurement is a fresh process (cold, its own peak RSS).
 */
import { join } from "node:path";
import { fmt, median } from "./measure.ts";
import type { BenchContext, BenchSection } from "./section.ts";

const WORKER = join(import.meta.dir, "view-worker.ts");

async function worker<T>(args: string[]): Promise<T> {
  const proc = Bun.spawn([process.execPath, WORKER, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`view-worker ${args[0]} exited ${code}: ${err.trim()}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as T;
}

interface Measurement {
  n: number;
  ms: number;
  rssBeforeMb: number;
  peakRssMb: number;
}

export const mappedResultView: BenchSection = {
  id: "view-mapped-result",
  title: "TaskRunView.getResult() of a mapped parent with 10,000 children",
  async run(ctx: BenchContext): Promise<string> {
    const n = 10_000;
    const home = ctx.tempHome();
    const { flowRunId } = await worker<{ flowRunId: string }>(["seed", home, String(n)]);
    const runs: Measurement[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const m = await worker<Measurement>(["measure", home, flowRunId]);
      if (m.n !== n) throw new Error(`expected ${n} results, got ${m.n}`);
      runs.push(m);
      ctx.log(`run ${i + 1}: ${fmt(m.ms)} ms, peak RSS ${fmt(m.peakRssMb)} MB (before ${fmt(m.rssBeforeMb)} MB)`);
    }
    const ms = median(runs.map((r) => r.ms));
    const peak = median(runs.map((r) => r.peakRssMb));
    const before = median(runs.map((r) => r.rssBeforeMb));
    return [
      `A finished run whose task is Mapped over ${n.toLocaleString("en-US")} children, each with a JSON result file`,
      "under `$PREFECTLITE_HOME/results` (embedded database). Each measurement is a fresh process:",
      "`TaskRunView.fromTaskSlug(…)` then `getResult()` (children read 500 per query, files 32 at a time).",
      "",
      "| measure | median of " + ctx.runs + " |",
      "| --- | --- |",
      `| getResult() wall time | ${fmt(ms)} ms (${fmt((n * 1000) / ms, 0)} results/s) |`,
      `| peak RSS of the process | ${fmt(peak)} MB |`,
      `| RSS before the call (runtime + database open) | ${fmt(before)} MB |`,
    ].join("\n");
  },
};
