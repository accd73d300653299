/**
 * Output through the descriptors (src/stdio.ts), in child processes: order kept with
 * console.log, a reader that goes away ends the writing quietly, and the clock time printed in
 * log lines follows the machine's time zone with or without the UTC shortcut.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT } from "./helpers.ts";

const STDIO = join(REPO_ROOT, "src/stdio.ts");
const LOG_FORMAT = join(REPO_ROOT, "src/engine/log-format.ts");

function child(script: string, env: Record<string, string | undefined> = {}) {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v;
  return Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe", env: merged });
}

describe("stdio", () => {
  test("writes to stdout and stderr in order with console.log, strings and bytes alike", async () => {
    const proc = child(`
      const { writeStdout, writeStderr } = await import(${JSON.stringify(STDIO)});
      console.log("one");
      writeStdout("two ");
      writeStdout(new TextEncoder().encode("three\\n"));
      console.log("four");
      writeStderr("to stderr\\n");
      writeStdout("");
    `);
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ out, err, code }).toEqual({ out: "one\ntwo three\nfour\n", err: "to stderr\n", code: 0 });
  });

  // Bun.spawn's "pipe" is a socket pair: the writer sees ECONNRESET (EPIPE on a real pipe).
  test("a reader that closes early (| head -1) ends the output quietly: no stack trace, exit 0", async () => {
    const proc = child(`
      const { writeStdout } = await import(${JSON.stringify(STDIO)});
      for (let i = 0; i < 200000; i++) writeStdout("line " + i + "\\n");
      process.stderr.write("finished\\n");
    `);
    const reader = proc.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value).startsWith("line 0\n")).toBe(true);
    await reader.cancel();
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(err).toBe("finished\n");
    expect(code).toBe(0);
  });
});

describe("clock times in log lines", () => {
  const clockAtEpoch = async (tz: string | undefined) => {
    const proc = child(`const { clockTime } = await import(${JSON.stringify(LOG_FORMAT)}); console.log(clockTime(0));`, { TZ: tz });
    return (await new Response(proc.stdout).text()).trim();
  };

  test("follow TZ: UTC (and its aliases) without a zone lookup, any other zone through one", async () => {
    expect(await clockAtEpoch("UTC")).toBe("00:00:00");
    expect(await clockAtEpoch("Etc/UTC")).toBe("00:00:00");
    expect(await clockAtEpoch("Europe/Berlin")).toBe("01:00:00");
    expect(await clockAtEpoch("America/New_York")).toBe("19:00:00");
  });

  test("without TZ, follow the machine's zone", async () => {
    const expected = await (async () => {
      const proc = child(`const d = new Date(0); console.log([d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":"));`, { TZ: undefined });
      return (await new Response(proc.stdout).text()).trim();
    })();
    expect(await clockAtEpoch(undefined)).toBe(expected);
  });
});
