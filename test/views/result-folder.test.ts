/**
 * Issue 12, point 5: a result location stored through the API cannot make anyone read a file
 * outside that result's own folder — refused when written, and refused when read (old rows).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Flow, LocalResult, Parameter, task, TaskRunView } from "../../src/index.ts";
import { LocalResultStore } from "../../src/engine/result-store.ts";
import { Seeder } from "./seed.ts";
import { Success } from "../../src/core/state.ts";
import { errorOf, runRecorded, tempDir } from "../helpers.ts";

const outsideDir = tempDir("prefectlite-outside-");
const secret = join(outsideDir, "secret.json");
writeFileSync(secret, JSON.stringify({ value: "the secret" }));

const ownDir = tempDir("prefectlite-own-results-");
const make = task({ name: "make" }, (n: number) => n);
const kept = task({ name: "kept", result: new LocalResult({ dir: ownDir }) }, () => 1);
const demo = new Flow("result-folders", () => {
  make(Parameter("n", { default: 3 }));
  kept();
});

let seed: Seeder;
let flowId: string;
beforeEach(async () => {
  seed = await Seeder.open();
  flowId = await seed.register(demo);
});
afterEach(() => seed.close());

async function taskRunRow(run: string, slug: string) {
  const data = await seed.client.graphql<{ task_run: Array<{ id: string; version: number }> }>(
    `query ($id: uuid!, $slug: String!) { task_run(where: { flow_run_id: { _eq: $id }, task_slug: { _eq: $slug } }) { id version } }`,
    { id: run, slug },
  );
  return data.task_run[0]!;
}

/** set_task_run_states Running → Success carrying `result`; the error message when it is refused. */
async function succeedWith(run: string, slug: string, result: Record<string, unknown>): Promise<string | undefined> {
  const row = await taskRunRow(run, slug);
  await seed.setTaskRunStates([{ row, state: { type: "Running" } }]);
  try {
    await seed.setTaskRunStates([{ row: { id: row.id, version: row.version + 1 }, state: { type: "Success", result } as never }]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe("a result location written through the API", () => {
  test("pointing at /etc/passwd, or leaving its folder with ../, or with a dir of its own choosing, is refused", async () => {
    const run = await seed.startRun(flowId);
    const results = seed.resultsDir;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: "LocalResult", location: "/etc/passwd", dir: results }, /result\.location '\/etc\/passwd' lies outside its result folder/],
      [{ type: "LocalResult", location: join(results, "../../x"), dir: results }, /lies outside its result folder/],
      [{ type: "LocalResult", location: "../../x", dir: results }, /lies outside its result folder/],
      [{ type: "LocalResult", location: "/etc/passwd", dir: "/etc" }, /result\.dir '\/etc' is not the result's folder/],
      [{ type: "LocalResult", location: "/etc/passwd" }, /lies outside its result folder/],
      [{ type: "LocalResult", location: "a.json", dir: "relative/results" }, /must be an absolute path/],
    ];
    for (const [result, message] of cases) {
      const refused = await succeedWith(run, "make-1", result);
      expect([result, refused]).toEqual([result, expect.stringMatching(message)]);
    }
    // A task configured with its own dir: its folder is that dir, and no other.
    expect(await succeedWith(run, "kept-1", { type: "LocalResult", location: join(results, "a.json"), dir: results })).toMatch(
      /is not the result's folder \(its LocalResult dir/,
    );
    expect(await succeedWith(run, "kept-1", { type: "LocalResult", location: join(ownDir, "2026/a.json"), dir: ownDir })).toBeUndefined();
    expect(await succeedWith(run, "make-1", { type: "LocalResult", location: join(results, "2026/1/2/a.prefect_result"), dir: results })).toBeUndefined();
  });

  test("a symbolic link inside the folder that leads out of it is followed, and refused", async () => {
    const run = await seed.startRun(flowId);
    mkdirSync(seed.resultsDir, { recursive: true });
    symlinkSync(outsideDir, join(seed.resultsDir, "link"));
    expect(await succeedWith(run, "make-1", { type: "LocalResult", location: join(seed.resultsDir, "link/secret.json"), dir: seed.resultsDir })).toMatch(
      /lies outside its result folder/,
    );
  });
});

describe("reading a stored location outside its folder (an old row)", () => {
  async function storeDirectly(run: string, slug: string, location: Record<string, unknown>) {
    const state = JSON.stringify({ type: "Success", message: "Task run succeeded.", timestamp: new Date().toISOString(), result: location });
    await seed.sql("UPDATE task_run SET state = 'Success', serialized_state = $s, state_result = $r WHERE flow_run_id = $run AND task_slug = $slug", {
      s: state,
      r: JSON.stringify(location),
      run,
      slug,
    });
  }

  test("getResult() refuses /etc/passwd, a ../ escape and a symlink out, with one clear error, and never reads the file", async () => {
    const run = await seed.startRun(flowId);
    mkdirSync(seed.resultsDir, { recursive: true });
    symlinkSync(outsideDir, join(seed.resultsDir, "link"));
    for (const location of [
      { type: "LocalResult", location: secret, dir: outsideDir },
      { type: "LocalResult", location: join(seed.resultsDir, "..", "..", secret), dir: seed.resultsDir },
      { type: "LocalResult", location: join(seed.resultsDir, "link", "secret.json"), dir: seed.resultsDir },
      { type: "LocalResult", location: "/etc/passwd" },
    ]) {
      await storeDirectly(run, "make-1", location);
      const view = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
      const error = await errorOf(view.getResult());
      expect([location, error.code]).toEqual([location, "Validation"]);
      expect(error.message).toMatch(/^Task run 'make-1': result location .* lies outside its result folder .*: not read$/);
      expect(error.message).not.toContain("the secret");
    }
  });

  test("a task's own configured dir is read from; the reader's default folder always is", async () => {
    const run = await seed.startRun(flowId);
    const store = new LocalResultStore(ownDir);
    const location = await store.write(41, new LocalResult({ dir: ownDir }), {
      flowName: "f", flowRunId: run, flowRunName: "r", taskName: "kept", taskSlug: "kept-1", taskRunId: "t", mapIndex: -1, parameters: {},
    });
    await storeDirectly(run, "kept-1", location as never);
    const view = await TaskRunView.fromTaskSlug("kept-1", { ...seed.deps, flowRunId: run });
    expect(await view.getResult()).toBe(41);
    // The same file is outside make-1's folder (the default results folder): refused there.
    await storeDirectly(run, "make-1", location as never);
    const other = await TaskRunView.fromTaskSlug("make-1", { ...seed.deps, flowRunId: run });
    expect((await errorOf(other.getResult())).message).toContain("lies outside its result folder");
  });
});

describe("a resumed run reading an upstream's stored result", () => {
  test("a prior state whose location lies outside the folder fails the downstream task with the clear error, and the file is never read", async () => {
    const resultsDir = tempDir("prefectlite-resume-results-");
    const seen: unknown[] = [];
    const up = task({ name: "up" }, () => "fresh");
    const down = task({ name: "down" }, (v: string) => void seen.push(v));
    const flow = new Flow("resume-outside", () => void down(up()));
    const prior = new Map([["up-1", new Success({ message: "done", resultLocation: { type: "LocalResult", location: secret, dir: outsideDir } })]]);
    const { state, reporter } = await runRecorded(flow, { resultsDir, priorStates: prior });
    expect(state.type).toBe("Failed");
    expect(seen).toEqual([]);
    expect(state.taskStates.get("down-1")!.message).toContain(`result location ${secret} lies outside its result folder ${resultsDir}: not read`);
    expect(reporter.messages().join("\n")).not.toContain("the secret");
  });
});
