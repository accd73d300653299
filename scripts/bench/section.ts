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
