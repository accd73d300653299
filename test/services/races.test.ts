/**
 * The race sites of two replicas on one database (scale-out.md §1.5), on every backend: each
 * site is hammered from TWO child `bun` processes (test/services/workers/race.ts), each with its
 * own storage, starting at the same moment. On SQLite the processes contend for the file's write
 * lock; on PostgreSQL they are two pools whose transactions interleave (READ COMMITTED), which
 * is where a check-then-write without a lock or a unique key goes wrong.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { createServices, type Services } from "../../src/services/index.ts";
import { describeBackends, openTestStorage, type TestStorage } from "../storage-helpers.ts";
import { intervalSchedule, row, rows, serializedFlow } from "./fixtures.ts";

const WORKER = join(import.meta.dir, "workers", "race.ts");
const N = 20;

interface SideResult {
  results: Array<string | null>;
  errors: string[];
}

/** Both sides of `site`, started together; what each got (a side that crashed fails the test). */
async function race(t: TestStorage, site: string, input: object, count = N): Promise<[SideResult, SideResult]> {
  const startAt = String(Date.now() + 1500);
  const side = (name: string) =>
    Bun.spawn([process.execPath, WORKER, t.url, site, name, String(count), startAt, JSON.stringify(input)], { stdout: "pipe", stderr: "pipe" });
  const outputs = await Promise.all(
    [side("a"), side("b")].map(async (p) => {
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      return JSON.parse(out.trim()) as SideResult;
    }),
  );
  return outputs as [SideResult, SideResult];
}

async function setup(kind: Parameters<typeof openTestStorage>[0]): Promise<{ t: TestStorage; services: Services; projectId: string }> {
  const t = await openTestStorage(kind);
  const services = createServices(t.store);
  const { id: projectId } = await services.createProject({ name: "shared" });
  return { t, services, projectId };
}

describeBackends((kind) => {
  test("one flow name registered from both: first registrations make one group; versions are distinct with one unarchived", async () => {
    const { t, projectId } = await setup(kind);
    const [a, b] = await race(t, "register", { projectId });
    expect([...a.errors, ...b.errors]).toEqual([]);
    expect(await rows(t, "SELECT COUNT(DISTINCT flow_group_id) AS groups, COUNT(*) AS n, COUNT(DISTINCT version) AS versions, COUNT(*) FILTER (WHERE NOT archived) AS live FROM flow WHERE name LIKE 'new-%' GROUP BY name HAVING COUNT(DISTINCT flow_group_id) != 1 OR COUNT(DISTINCT version) != 2 OR COUNT(*) FILTER (WHERE NOT archived) != 1")).toEqual([]);
    expect((await row(t, "SELECT COUNT(DISTINCT name) AS names FROM flow WHERE name LIKE 'new-%'")).names).toBe(N);
    expect(await row(t, "SELECT COUNT(DISTINCT flow_group_id) AS groups, COUNT(*) AS n, COUNT(DISTINCT version) AS versions, MAX(version) AS v, COUNT(*) FILTER (WHERE NOT archived) AS live FROM flow WHERE name = 'shared'")).toEqual({
      groups: 1,
      n: 2 * N,
      versions: 2 * N,
      v: 2 * N,
      live: 1,
    });
    await t.close();
  }, 60_000);

  test("one idempotency key from both: one run, and both sides are given its id", async () => {
    const { t, services, projectId } = await setup(kind);
    const { id: flowId } = await services.createFlow({ serializedFlow: serializedFlow(), projectId });
    const [a, b] = await race(t, "idempotency", { projectId, flowId });
    expect([...a.errors, ...b.errors]).toEqual([]);
    expect(a.results).toEqual(b.results);
    expect(new Set(a.results).size).toBe(N);
    expect((await row(t, "SELECT COUNT(*) AS n FROM flow_run")).n).toBe(N);
    await t.close();
  }, 60_000);

  test("one agent identity registered from both: one agent", async () => {
    const { t, projectId } = await setup(kind);
    const [a, b] = await race(t, "agent", { projectId });
    expect([...a.errors, ...b.errors]).toEqual([]);
    expect(a.results).toEqual(b.results);
    expect((await row(t, "SELECT COUNT(*) AS n FROM agent")).n).toBe(N);
    await t.close();
  }, 60_000);

  test("claim against claim: every due run is taken once, and no claim fails", async () => {
    const { t, services, projectId } = await setup(kind);
    const { id: flowId } = await services.createFlow({ serializedFlow: serializedFlow(), projectId });
    const past = new Date(Date.now() - 60_000);
    const runIds: string[] = [];
    for (let i = 0; i < 60; i++) runIds.push((await services.createFlowRun({ flowId, scheduledStartTime: past })).id);
    const [a, b] = await race(t, "claim", { projectId });
    const claimed = [...a.results, ...b.results];
    expect(claimed.length).toBe(runIds.length);
    expect(new Set(claimed)).toEqual(new Set(runIds));
    expect((await row(t, "SELECT COUNT(*) AS n FROM flow_run WHERE state = 'Submitted' AND version = 2")).n).toBe(runIds.length);
    await t.close();
  }, 60_000);

  test("cancel against the runner's task-run batch: the cancel never errors; the batch is refused or lands before it", async () => {
    const { t, services, projectId } = await setup(kind);
    const { id: flowId } = await services.createFlow({ serializedFlow: serializedFlow({ tasks: ["a-1", "b-1"] }), projectId });
    const runIds: string[] = [];
    for (let i = 0; i < N; i++) {
      const { id } = await services.createFlowRun({ flowId });
      await services.setFlowRunStates([{ flowRunId: id, version: 1, state: { type: "Running" } }]);
      runIds.push(id);
    }
    const [cancel, runner] = await race(t, "cancel", { projectId, runIds });
    expect(cancel.errors).toEqual([]);
    // The runner is told its batch came too late (or raced a write it had not seen), never more.
    expect(runner.errors.filter((code) => code !== "VersionConflict" && code !== "Conflict")).toEqual([]);
    expect((await row(t, "SELECT COUNT(*) AS n FROM flow_run WHERE state = 'Cancelled'")).n).toBe(N);
    // No task run of a cancelled run was left started: the batch landed before the cancel (which ended it) or not at all.
    expect(await rows(t, "SELECT id, state FROM task_run WHERE state NOT IN ('Cancelled', 'Success', 'Failed')")).toEqual([]);
    await t.close();
  }, 60_000);

  test("the scheduler against deactivation: no auto-scheduled run of an inactive flow is left", async () => {
    const { t, services, projectId } = await setup(kind);
    const flowIds: string[] = [];
    for (let i = 0; i < N; i++) {
      const { id } = await services.createFlow({ serializedFlow: serializedFlow({ name: `s-${i}`, schedule: intervalSchedule() }), projectId, setScheduleActive: false });
      await t.store.flows.setScheduleActive(id, true, new Date().toISOString());
      flowIds.push(id);
    }
    const [scheduler, deactivate] = await race(t, "deactivate", { projectId, flowIds });
    expect([...scheduler.errors, ...deactivate.errors]).toEqual([]);
    expect((await row(t, "SELECT COUNT(*) AS n FROM flow WHERE is_schedule_active")).n).toBe(0);
    expect((await row(t, "SELECT COUNT(*) AS n FROM flow_run WHERE auto_scheduled AND state = 'Scheduled'")).n).toBe(0);
    await t.close();
  }, 60_000);

  test("one project name created from both: one project; the other side is told Conflict", async () => {
    const { t, projectId } = await setup(kind);
    const [a, b] = await race(t, "project", { projectId });
    for (let i = 0; i < N; i++) expect([a.results[i], b.results[i]].filter((id) => id !== null)).toHaveLength(1);
    expect([...a.errors, ...b.errors]).toEqual(Array(N).fill("Conflict"));
    expect((await row(t, "SELECT COUNT(*) AS n FROM project")).n).toBe(N + 1);
    await t.close();
  }, 60_000);
});
