/**
 * The agent's side of the warm-child protocol with a stand-in child (no prefectlite in it): the
 * ready line, then run ids on stdin and a done line after each, wherever the run's own output
 * left the line.
 */
import { describe, expect, test } from "bun:test";
import { spawnWarmFlowRunProcess } from "../../src/run-process/warm-child.ts";

const READY = "test-ready";
const DONE = "test-done";

/** A child that, for each id, writes `output(id)` (JS expression) with no newline, then the done line with `code`. */
function standIn(output: string, code: number): string[] {
  const script = `
    process.stdout.write(${JSON.stringify(READY)} + "\\n");
    let text = "";
    for await (const chunk of Bun.stdin.stream()) {
      text += new TextDecoder().decode(chunk);
      let i;
      while ((i = text.indexOf("\\n")) >= 0) {
        const id = text.slice(0, i); text = text.slice(i + 1);
        process.stdout.write(${output});
        process.stdout.write(${JSON.stringify(DONE)} + " " + id + " " + ${code} + "\\n");
      }
    }`;
  return [process.execPath, "-e", script];
}

describe("a warm child given several runs", () => {
  test("each run ends at its done line, even after output that did not end its line, or a long one", async () => {
    for (const output of [`"."`, `"x".repeat(200_000)`, `"line\\\\npartial"`]) {
      const child = spawnWarmFlowRunProcess(standIn(output, 0), { ...process.env } as Record<string, string>, { readyLine: READY, doneLine: DONE });
      expect(await child.ready).toBe(true);
      const first = child.assign("run-1", { more: true });
      expect(await first.exited).toEqual({ code: 0, signal: null, stderrTail: "", runOnly: true });
      expect(child.canTakeRun).toBe(true);
      const second = child.assign("run-2"); // the last: stdin closes, the handle is the process
      expect((await second.exited).code).toBe(0);
      expect(child.runs).toBe(2);
      expect(child.canTakeRun).toBe(false);
    }
  });

  test("a run's exit code comes from its done line; a child that dies holding a run ends that run as the process did", async () => {
    const failing = spawnWarmFlowRunProcess(standIn(`""`, 1), { ...process.env } as Record<string, string>, { readyLine: READY, doneLine: DONE });
    await failing.ready;
    expect((await failing.assign("run-1", { more: true }).exited).code).toBe(1);
    failing.dismiss();
    await failing.exited;

    const dying = spawnWarmFlowRunProcess(standIn(`(process.kill(process.pid, "SIGKILL"), "")`, 0), { ...process.env } as Record<string, string>, {
      readyLine: READY,
      doneLine: DONE,
    });
    await dying.ready;
    const outcome = await dying.assign("run-1", { more: true }).exited;
    expect(outcome.signal).toBe("SIGKILL");
    expect(outcome.runOnly).toBeUndefined();
    expect(dying.canTakeRun).toBe(false);
    expect(() => dying.assign("run-2", { more: true })).toThrow();
  });
});
