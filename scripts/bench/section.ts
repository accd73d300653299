/** A named part of BENCHMARKS.md: later issues add sections to the list in scripts/bench.ts. */
export interface BenchContext {
  /** How many measured runs a median is taken over (≥ 5). */
  runs: number;
  /** Rebuild dist/prefectlite even when it exists. */
  rebuild: boolean;
  /** A fresh PREFECTLITE_HOME, removed when the benchmark ends. */
  tempHome(): string;
  log(message: string): void;
}

export interface BenchSection {
  /** Stable id: marks the section in BENCHMARKS.md and selects it on the command line. */
  id: string;
  title: string;
  /** The section's body (Markdown); the runner adds the title, machine, date and command. */
  run(ctx: BenchContext): Promise<string>;
}

/** dist/prefectlite, built first when missing (or when --rebuild asks): what users run. */
export async function shippedBinary(ctx: BenchContext): Promise<string> {
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { build } = await import("../build.ts");
  const binary = join(import.meta.dir, "../../dist/prefectlite");
  if (!existsSync(binary) || (ctx.rebuild && !rebuilt.has(binary))) {
    ctx.log("building dist/prefectlite…");
    await build(binary);
    rebuilt.add(binary);
  }
  return binary;
}

const rebuilt = new Set<string>();
