/**
 * `npm run bench [-- SECTION…] [--runs N] [--rebuild]`: run the benchmark sections (all, or the
 * named ones) and write each into its own part of BENCHMARKS.md, leaving the others as they
 * were. Never run by `npm test`. Each section states the machine, the date and the command.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeMachine, machineLine } from "./bench/measure.ts";
import { coldStart, localEngine } from "./bench/local-run.ts";
import { apiThroughput, queryLatency } from "./bench/api.ts";
import { backedThroughput } from "./bench/backed.ts";
import { mappedResultView } from "./bench/views.ts";
import { peerWorkloads, schedulingLatency } from "./bench/agent.ts";
import type { BenchContext, BenchSection } from "./bench/section.ts";
import { uiPages } from "./bench/ui-pages.ts";
import { schedulerLag } from "./bench/scheduler.ts";
import { scaleOut } from "./bench/scale-out.ts";

/** Every section, in the order they appear in BENCHMARKS.md. Later issues append theirs. */
const SECTIONS: BenchSection[] = [coldStart, localEngine, apiThroughput, queryLatency, backedThroughput, mappedResultView, schedulingLatency, peerWorkloads, schedulerLag, uiPages, scaleOut];

const FILE = join(import.meta.dir, "../BENCHMARKS.md");
const HEADER = `# prefectlite benchmarks

Written by \`npm run bench\` (\`scripts/bench.ts\`); never by \`npm test\`. Each section says the machine,
date and command it was measured with; \`npm run bench -- <section id>\` re-measures one section only.
Figures are medians; SPEC §5 and the issues set the targets. Timing is never asserted in tests.
`;

const begin = (id: string) => `<!-- bench:${id} -->`;
const end = (id: string) => `<!-- /bench:${id} -->`;

/** Replace (or add, in list order) the section's part of the file. */
export function spliceSection(document: string, id: string, body: string, order: readonly string[]): string {
  const block = `${begin(id)}\n${body.trim()}\n${end(id)}`;
  const start = document.indexOf(begin(id));
  if (start >= 0) {
    const stop = document.indexOf(end(id), start);
    if (stop < 0) throw new Error(`BENCHMARKS.md: ${begin(id)} has no ${end(id)}`);
    return document.slice(0, start) + block + document.slice(stop + end(id).length);
  }
  const later = order.slice(order.indexOf(id) + 1).map((next) => document.indexOf(begin(next))).filter((i) => i >= 0);
  if (later.length) {
    const at = Math.min(...later);
    return `${document.slice(0, at)}${block}\n\n${document.slice(at)}`;
  }
  return `${document.trimEnd()}\n\n${block}\n`;
}

function parseArgs(argv: string[]): { ids: string[]; runs: number; rebuild: boolean } {
  const ids: string[] = [];
  let runs = 7;
  let rebuild = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--rebuild") rebuild = true;
    else ids.push(a);
  }
  if (!Number.isInteger(runs) || runs < 5) throw new Error("--runs must be a whole number ≥ 5 (figures are medians of at least 5 runs)");
  const known = SECTIONS.map((s) => s.id);
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length) throw new Error(`unknown section ${unknown.join(", ")}: known sections are ${known.join(", ")}`);
  return { ids: ids.length ? ids : known, runs, rebuild };
}

async function main(): Promise<void> {
  const { ids, runs, rebuild } = parseArgs(process.argv.slice(2));
  const homes: string[] = [];
  const ctx: BenchContext = {
    runs,
    rebuild,
    tempHome: () => {
      const home = mkdtempSync(join(tmpdir(), "prefectlite-bench-"));
      homes.push(home);
      return home;
    },
    log: (m) => process.stderr.write(`  ${m}\n`),
  };
  const machine = machineLine(describeMachine());
  let document = existsSync(FILE) ? readFileSync(FILE, "utf8") : HEADER;
  try {
    for (const section of SECTIONS.filter((s) => ids.includes(s.id))) {
      process.stderr.write(`bench ${section.id}: ${section.title}\n`);
      const body = await section.run(ctx);
      const text = [
        `## ${section.title}`,
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.`,
        `Reproduce: \`npm run build && npm run bench -- ${section.id}\``,
        "",
        body,
      ].join("\n");
      document = spliceSection(document, section.id, text, SECTIONS.map((s) => s.id));
      writeFileSync(FILE, document);
      process.stdout.write(`${text}\n\n`);
    }
  } finally {
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  await main().catch((e: Error) => {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(1);
  });
}
