/**
 * `npm test`: type-check with tsc, then `bun test`, forwarding their output, and end with one
 * line `N passed, N failed[, N skipped]` (the line CI reads), leaving with bun's exit code
 * (non-zero as well when the type-check failed).
 */
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const extraArgs = process.argv.slice(2);

async function typeCheck(): Promise<number> {
  const tsc = Bun.spawn([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", root], {
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  });
  return tsc.exited;
}

/** Run bun test, copying its stderr through while keeping it to read the summary lines. */
async function bunTest(): Promise<{ code: number; stderr: string }> {
  // bunfig.toml's [test] timeout is not applied by Bun 1.4.5 (tests got its 5 s default), so the
  // per-test ceiling is passed here: tests start real processes and servers.
  const proc = Bun.spawn([process.execPath, "test", "--timeout", "60000", ...extraArgs], { cwd: root, stdout: "inherit", stderr: "pipe" });
  let stderr = "";
  const decoder = new TextDecoder();
  const reader = proc.stderr.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    process.stderr.write(value);
    stderr += decoder.decode(value, { stream: true });
  }
  return { code: await proc.exited, stderr };
}

/** Bun's closing summary: lines ` 12 pass`, ` 0 fail`, ` 1 skip`. */
export function summaryCounts(output: string): { pass: number; fail: number; skip: number } {
  const count = (word: string) => {
    const matches = [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
    return matches.length ? Number(matches[matches.length - 1]![1]) : 0;
  };
  return { pass: count("pass"), fail: count("fail"), skip: count("skip") };
}

if (import.meta.main) {
  const tscCode = await typeCheck();
  if (tscCode !== 0) process.stderr.write(`tsc --noEmit failed (exit ${tscCode})\n`);
  const { code, stderr } = await bunTest();
  const { pass, fail, skip } = summaryCounts(stderr);
  const failed = fail + (tscCode !== 0 ? 1 : 0);
  const exitCode = code !== 0 ? code : tscCode !== 0 ? 1 : 0;
  if (exitCode !== 0 && failed === 0 && pass === 0) {
    // bun failed before running anything (or found no tests): still say so in the CI line.
    process.stdout.write(`0 passed, 1 failed\n`);
  } else {
    process.stdout.write(`${pass} passed, ${failed} failed${skip ? `, ${skip} skipped` : ""}\n`);
  }
  process.exit(exitCode);
}
