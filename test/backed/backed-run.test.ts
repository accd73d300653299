import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { useTempHome } from "../helpers.ts";
import { backedFixture, calls, readRun, taskStates, type BackedFixture, type Mode } from "./helpers.ts";

const FLOW = `
import { Flow, Parameter, task, context, unmapped } from "prefectlite";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
const count = (name: string) => appendFileSync(join(context().parameters.dir as string, name), "x");

const start = task({ name: "start" }, () => { count("start"); return 10; });
const add = task({ name: "add" }, (x: number, base: number) => { count("add"); context().logger.info("adding " + x); return x + base; });
const total = task({ name: "total" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));

export const flow = new Flow("backed", () => {
  Parameter("dir");
  const base = start();
  const added = add.map([1, 2, 3], unmapped(base));
  total(added);
});
`;

const quiet = { warn: () => {}, heartbeatMs: 1000 };

for (const mode of ["embedded", "http"] as Mode[]) {
  describe(`a backed run (${mode})`, () => {
    useTempHome();
    let fx: BackedFixture | undefined;
    afterEach(async () => {
      await fx?.close();
      fx = undefined;
    });

    test("records the flow run, every task run incl. mapped children, logs and readable result locations", async () => {
      fx = await backedFixture(FLOW, { mode });
      const id = await fx.createRun();
      const outcome = await runBackedFlowRun(fx.client, id, quiet);
      expect(outcome).toMatchObject({ status: "finished", state: "Success" });

      const run = await readRun(fx.client, id);
      expect(run.state).toBe("Success");
      expect(run.states.map((s) => s.state)).toEqual(["Scheduled", "Running", "Success"]);
      expect(run.heartbeat).not.toBeNull();
      expect(taskStates(run)).toEqual({
        dir: "Success",
        "add-1": "Mapped",
        "add-1[0]": "Success",
        "add-1[1]": "Success",
        "add-1[2]": "Success",
        "start-1": "Success",
        "total-1": "Success",
      });
      const total = run.task_runs.find((t) => t.task_slug === "total-1")!;
      const location = total.serialized_state.result!.location;
      expect(location.startsWith(process.env.PREFECTLITE_HOME!)).toBe(true);
      expect(JSON.parse(readFileSync(location, "utf8"))).toEqual({ value: 36 });
      for (const child of run.task_runs.filter((t) => t.map_index >= 0)) {
        expect(existsSync(child.serialized_state.result!.location)).toBe(true);
      }

      const messages = run.logs.map((l) => l.message);
      expect(messages).toContain("Beginning Flow run for 'backed'");
      expect(messages).toContain("Flow run SUCCESS: all reference tasks succeeded");
      const adding = run.logs.filter((l) => l.message.startsWith("adding "));
      expect(adding).toHaveLength(3);
      const childIds = new Set(run.task_runs.filter((t) => t.map_index >= 0).map((t) => t.id));
      for (const log of adding) expect(childIds.has(log.task_run_id!)).toBe(true);
      // The task runner's own lines belong to their task run, as Prefect's TaskRunner logs do.
      const idOf = (slug: string, mapIndex = -1) => run.task_runs.find((t) => t.task_slug === slug && t.map_index === mapIndex)!.id;
      const runnerLine = (label: string, suffix: string) => run.logs.find((l) => l.message === `Task '${label}': ${suffix}`)!.task_run_id;
      expect(runnerLine("add[1]", "Starting task run...")).toBe(idOf("add-1", 1));
      expect(runnerLine("add", "Finished task run for task with final state: 'Mapped'")).toBe(idOf("add-1"));
      expect(runnerLine("total", "Finished task run for task with final state: 'Success'")).toBe(idOf("total-1"));
      expect(runnerLine("start", "Starting task run...")).toBe(idOf("start-1"));
      expect(run.logs.find((l) => l.message.startsWith("Beginning Flow run"))!.task_run_id).toBeNull();
    });

    test("with PREFECTLITE_PREFECT_RESULT_BYTES, results that fit are also in their states as Prefect's PrefectResult", async () => {
      // Prefect 1 reads a LocalResult file only as a pickle; its PrefectResult holds the value as JSON text.
      const prefectResultOf = (s: object | undefined) => (s as { _result?: Record<string, unknown> } | undefined)?._result;
      fx = await backedFixture(FLOW, { mode });
      const off = await fx.createRun();
      await runBackedFlowRun(fx.client, off, quiet);
      const before = (await readRun(fx.client, off)).task_runs.find((t) => t.task_slug === "total-1")!;
      expect(prefectResultOf(before.serialized_state)!.type).toBe("LocalResult");
      process.env.PREFECTLITE_PREFECT_RESULT_BYTES = "2";
      try {
        const on = await fx.createRun();
        expect(await runBackedFlowRun(fx.client, on, quiet)).toMatchObject({ status: "finished", state: "Success" });
        const run = await readRun(fx.client, on);
        const bySlug = (slug: string, mapIndex = -1) => run.task_runs.find((t) => t.task_slug === slug && t.map_index === mapIndex)!.serialized_state;
        // 36 and 10 fit in 2 bytes; the mapped children's 11, 12, 13 too; the file is written all the same.
        expect(prefectResultOf(bySlug("total-1"))).toEqual({ type: "PrefectResult", location: "36", __version__: "1.4.1" });
        expect(prefectResultOf(bySlug("start-1"))).toMatchObject({ type: "PrefectResult", location: "10" });
        expect(prefectResultOf(bySlug("add-1", 2))).toMatchObject({ type: "PrefectResult", location: "13" });
        expect(JSON.parse(readFileSync(bySlug("total-1").result!.location, "utf8"))).toEqual({ value: 36 });
        process.env.PREFECTLITE_PREFECT_RESULT_BYTES = "1";
        const small = await fx.createRun();
        await runBackedFlowRun(fx.client, small, quiet);
        const total = (await readRun(fx.client, small)).task_runs.find((t) => t.task_slug === "total-1")!;
        expect(prefectResultOf(total.serialized_state)!.type).toBe("LocalResult"); // "36" is 2 bytes: over the bound
        // A parameter's value too, as Prefect's Parameter keeps it (the folder's path is over 2 bytes above).
        expect(prefectResultOf(bySlug("dir"))!.type).not.toBe("PrefectResult");
        process.env.PREFECTLITE_PREFECT_RESULT_BYTES = "4096";
        const wide = await fx.createRun();
        await runBackedFlowRun(fx.client, wide, quiet);
        const dir = (await readRun(fx.client, wide)).task_runs.find((t) => t.task_slug === "dir")!;
        expect(prefectResultOf(dir.serialized_state)).toEqual({ type: "PrefectResult", location: JSON.stringify(fx.work), __version__: "1.4.1" });
      } finally {
        delete process.env.PREFECTLITE_PREFECT_RESULT_BYTES;
      }
    });

    test("a finished run is a no-op the second time", async () => {
      fx = await backedFixture(FLOW, { mode });
      const id = await fx.createRun();
      await runBackedFlowRun(fx.client, id, quiet);
      const again = await runBackedFlowRun(fx.client, id, quiet);
      expect(again).toMatchObject({ status: "already-finished", message: "Flow run has already finished." });
      expect(calls(fx.work, "start")).toBe(1);
    });

    test("a flow changed since registration fails the run with one clear line", async () => {
      fx = await backedFixture(FLOW, { mode });
      const id = await fx.createRun();
      writeFileSync(fx.path, FLOW.replace("return 10;", "return 11;"));
      const outcome = await runBackedFlowRun(fx.client, id, quiet);
      expect(outcome.status).toBe("failed");
      expect(outcome.message).toBe(`flow 'backed' changed since it was registered: run prefectlite register -p ${fx.path} --project <project>`);
      const run = await readRun(fx.client, id);
      expect(run.state).toBe("Failed");
      expect(run.serialized_state.message).toBe(outcome.message);
      expect(run.logs).toContainEqual({ level: "ERROR", message: outcome.message, task_run_id: null });
      expect(calls(fx.work, "start")).toBe(0);
    });

    test("a flow file that no longer loads fails the run: Failed to load and execute flow run", async () => {
      fx = await backedFixture(FLOW, { mode });
      const id = await fx.createRun();
      writeFileSync(fx.path, "throw new Error('broken on purpose');\n");
      const outcome = await runBackedFlowRun(fx.client, id, quiet);
      expect(outcome.status).toBe("failed");
      expect(outcome.message).toStartWith("Failed to load and execute flow run: ");
      expect(outcome.message).toContain("broken on purpose");
      expect((await readRun(fx.client, id)).state).toBe("Failed");
    });
  });
}
