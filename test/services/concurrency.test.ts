import { expect, test } from "bun:test";
import { join } from "node:path";
import { createServices } from "../../src/services/index.ts";
import { openStorage } from "../../src/storage/open.ts";
import { describeBackends, openTestStorage } from "../storage-helpers.ts";
import { rows, row } from "./fixtures.ts";

describeBackends((kind) => {
  const WORKER = join(import.meta.dir, "workers", "register-and-run.ts");
  const ITERATIONS = 100;

  test("two processes registering flows and creating runs on one database lose and duplicate nothing", async () => {
    const b = await openTestStorage(kind);
    await createServices(b.store).createProject({ name: "shared" });
    const spawnWorker = (name: string) =>
      Bun.spawn([process.execPath, WORKER, b.url, name, String(ITERATIONS)], { stdout: "pipe", stderr: "pipe" });
    const workers = [spawnWorker("a"), spawnWorker("b")];
    const outputs = await Promise.all(
      workers.map(async (w) => {
        const [out, err, code] = await Promise.all([new Response(w.stdout).text(), new Response(w.stderr).text(), w.exited]);
        expect(err).toBe("");
        expect(code).toBe(0);
        return JSON.parse(out.trim()) as { worker: string; runIds: string[] };
      }),
    );

    // Every registration became a version: 40 of each worker's own flow, 80 of the shared one.
    expect(await rows(b, "SELECT name, COUNT(*) AS n, MAX(version) AS v, COUNT(DISTINCT version) AS d, COUNT(*) FILTER (WHERE NOT archived) AS live FROM flow GROUP BY name ORDER BY name")).toEqual([
      { name: "flow-a", n: ITERATIONS, v: ITERATIONS, d: ITERATIONS, live: 1 },
      { name: "flow-b", n: ITERATIONS, v: ITERATIONS, d: ITERATIONS, live: 1 },
      { name: "shared-flow", n: 2 * ITERATIONS, v: 2 * ITERATIONS, d: 2 * ITERATIONS, live: 1 },
    ]);
    expect((await row(b, "SELECT COUNT(*) AS n FROM flow_group")).n).toBe(3);

    // Every run id a worker was given exists, with its first state and its task run.
    const reported = new Set(outputs.flatMap((o) => o.runIds));
    const stored = (await rows(b, "SELECT id FROM flow_run")).map((r) => r.id as string);
    expect(new Set(stored)).toEqual(reported);
    expect(stored.length).toBe(reported.size);
    expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run_state WHERE version = 1 AND state = 'Scheduled'")).n).toBe(stored.length);
    // Registering a new version cancelled the older versions' Scheduled runs: each history is whole.
    expect((await row(b, "SELECT COUNT(*) AS n FROM flow_run r WHERE r.version != (SELECT COUNT(*) FROM flow_run_state s WHERE s.flow_run_id = r.id)")).n).toBe(0);
    expect((await row(b, "SELECT COUNT(*) AS n FROM task_run")).n).toBe(stored.length);
    await b.close();
  }, 60_000);

  test("a flow archived or deleted through another connection to the database is seen at once by run creation", async () => {
    const t = await openTestStorage(kind);
    const other = await openStorage(t.url);
    const mine = createServices(t.store);
    const theirs = createServices(other.store);
    const { id: projectId } = await mine.createProject({ name: "shared" });
    const flow = (name: string) => ({
      name,
      tasks: [{ slug: "t-1", name: "t", kind: "task", mapped: false, tags: [], maxRetries: 0, retryDelayMs: 0, timeoutMs: null, trigger: "all_successful", skipOnUpstreamSkip: true, logStdout: false, result: null, constants: {}, sourceDigest: null }],
      edges: [],
      parameters: [],
      referenceTasks: [],
      schedule: null,
      runConfig: { env: {}, labels: [] },
      result: null,
      storage: { type: "Module", module: "test.flows" },
      formatVersion: 1,
    });
    const archived = await mine.createFlow({ serializedFlow: flow("archived"), projectId });
    const deleted = await mine.createFlow({ serializedFlow: flow("deleted"), projectId });
    // Run creation has read (and may keep) both flows.
    await mine.createFlowRun({ flowId: archived.id });
    await mine.createFlowRun({ flowId: deleted.id });
    await theirs.archiveFlow(archived.id);
    await theirs.deleteFlow(deleted.id);
    await expect(mine.createFlowRun({ flowId: archived.id })).rejects.toThrow(/archived/);
    await expect(mine.createFlowRun({ flowId: deleted.id })).rejects.toThrow(/not found/);
    await other.close();
    await t.close();
  });
});
