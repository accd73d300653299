import { writeStdout } from "../stdio.ts";
/** `Label... Done` around a piece of work; on failure the line ends in "Error" and the error goes on. */
export async function step<T>(label: string, work: () => Promise<T>, done = "Done"): Promise<T> {
  writeStdout(`${label} `);
  try {
    const out = await work();
    writeStdout(`${done}\n`);
    return out;
  } catch (e) {
    writeStdout("Error\n");
    throw e;
  }
}

/** A plain text table: a header row and left-aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}
