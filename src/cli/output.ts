/** `Label... Done` around a piece of work; on failure the line ends in "Error" and the error goes on. */
export async function step<T>(label: string, work: () => Promise<T>, done = "Done"): Promise<T> {
  process.stdout.write(`${label} `);
  try {
    const out = await work();
    process.stdout.write(`${done}\n`);
    return out;
  } catch (e) {
    process.stdout.write("Error\n");
    throw e;
  }
}

/** A plain text table: a header row and left-aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}
