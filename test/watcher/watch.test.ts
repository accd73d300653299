import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isFlowFile, netEvent, watchFlowFiles, type FlowFileEvent, type FlowFileWatcher } from "../../src/watcher/watch.ts";

const tempDir = () => mkdtempSync(join(tmpdir(), "prefectlite-watch-"));

/** The next event, or a failure after a generous guard (a missing event must not hang the suite). */
async function nextEvent(it: AsyncIterator<FlowFileEvent>): Promise<FlowFileEvent> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("no watcher event")), 5000)));
  try {
    const r = await Promise.race([it.next(), guard]);
    if (r.done) throw new Error("the watcher ended");
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

async function started(dir: string, options: { initial?: boolean } = {}) {
  const controller = new AbortController();
  const watcher: FlowFileWatcher = watchFlowFiles(dir, { debounceMs: 80, signal: controller.signal, ...options });
  await watcher.ready;
  return { watcher, it: watcher[Symbol.asyncIterator](), stop: () => controller.abort() };
}

describe("isFlowFile and netEvent", () => {
  test(".ts files are flow files; declarations, tests and other files are not", () => {
    expect(["a.ts", "/x/y/flow-2.ts"].map(isFlowFile)).toEqual([true, true]);
    expect(["a.d.ts", "a.test.ts", "a.js", "a.tsx", "ts"].map(isFlowFile)).toEqual([false, false, false, false, false]);
  });

  test("several raw events of one file collapse to their net effect", () => {
    expect(netEvent("added", "changed")).toBe("added");
    expect(netEvent("changed", "changed")).toBe("changed");
    expect(netEvent("removed", "added")).toBe("changed");
    expect(netEvent("changed", "removed")).toBe("removed");
    expect(netEvent("added", "removed")).toBeNull();
  });
});

describe("watchFlowFiles", () => {
  test("emits added, changed and removed for .ts files in the folder, debounced, and nothing for other files", async () => {
    const dir = tempDir();
    const { it, stop } = await started(dir);
    writeFileSync(join(dir, "notes.md"), "# not a flow");
    writeFileSync(join(dir, "types.d.ts"), "export {};");
    writeFileSync(join(dir, "a.test.ts"), "export {};");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "nested.ts"), "export {};");
    writeFileSync(join(dir, "a.ts"), "export const x = 1;");
    expect(await nextEvent(it)).toEqual({ type: "added", path: join(dir, "a.ts") });

    // A burst of writes is one event.
    for (let i = 2; i < 6; i++) writeFileSync(join(dir, "a.ts"), `export const x = ${i};`);
    expect(await nextEvent(it)).toEqual({ type: "changed", path: join(dir, "a.ts") });

    rmSync(join(dir, "a.ts"));
    expect(await nextEvent(it)).toEqual({ type: "removed", path: join(dir, "a.ts") });
    stop();
    expect((await it.next()).done).toBe(true);
  });

  test("with initial, the files already there are emitted as added", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "one.ts"), "export {};");
    writeFileSync(join(dir, "skip.d.ts"), "export {};");
    const { it, stop } = await started(dir, { initial: true });
    expect(await nextEvent(it)).toEqual({ type: "added", path: join(dir, "one.ts") });
    writeFileSync(join(dir, "two.ts"), "export {};");
    expect(await nextEvent(it)).toEqual({ type: "added", path: join(dir, "two.ts") });
    stop();
  });

  test("a single watched file reports its changes", async () => {
    const dir = tempDir();
    const file = join(dir, "flow.ts");
    writeFileSync(file, "export const a = 1;");
    const controller = new AbortController();
    const watcher = watchFlowFiles([file], { debounceMs: 80, signal: controller.signal });
    await watcher.ready;
    const it = watcher[Symbol.asyncIterator]();
    writeFileSync(file, "export const a = 2;");
    expect(await nextEvent(it)).toEqual({ type: "changed", path: file });
    await watcher.close();
    expect((await it.next()).done).toBe(true);
  });
});
