/**
 * The services on the PostgreSQL store, as two replicas would run them: two storages (pools) on
 * one database, each with its own services, doing the same things at the same time. Nothing is
 * lost or duplicated, and nobody sees an error for a race the services resolve.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { createServices, type Services } from "../../../src/services/index.ts";
import type { Storage } from "../../../src/storage/open.ts";
import { openPostgresStorage } from "../../../src/storage/postgres/store.ts";
import { describePostgres, postgresDatabase, type TestDatabase } from "../../postgres.ts";
import { serializedFlow as fixtureFlow } from "../../services/fixtures.ts";

/** A flow of a chain of tasks, as `Flow.serialize()` writes it. */
const serializedFlow = (name: string, tasks: string[] = ["first-1", "second-1"]) => fixtureFlow({ name, tasks });

describePostgres("services on PostgreSQL, two replicas", () => {
  let database: TestDatabase;
  let a: Storage;
  let b: Storage;
  let one: Services;
  let two: Services;
  let raw: SQL;
  let projectId: string;

  beforeAll(async () => {
    database = await postgresDatabase();
    a = await openPostgresStorage(database.url);
    b = await openPostgresStorage(database.url);
    one = createServices(a.store);
    two = createServices(b.store);
    raw = new SQL({ url: database.url, max: 2 });
    const [p1, p2] = await Promise.allSettled([one.createProject({ name: "shared" }), two.createProject({ name: "shared" })]);
    // One creates it; the other is told it exists (Conflict), never an internal error.
    const outcomes = [p1, p2];
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: "Conflict" });
    projectId = (outcomes.find((o) => o.status === "fulfilled") as PromiseFulfilledResult<{ id: string }>).value.id;
  });

  afterAll(async () => {
    await raw?.close();
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  test("concurrent registrations of one flow get distinct versions and one live version", async () => {
    // The first version alone: two first registrations of a new name race to two version groups
    // (the services pick the group by the newest flow of that name; see the report).
    await one.createFlow({ serializedFlow: serializedFlow("shared-flow", ["step-first"]), projectId });
    const registrations = Array.from({ length: 9 }, (_, i) =>
      (i % 2 ? two : one).createFlow({ serializedFlow: serializedFlow("shared-flow", [`step-${i}`]), projectId }),
    );
    const results = await Promise.all(registrations);
    expect(new Set(results.map((r) => r.version)).size).toBe(9);
    const [summary] = await raw`SELECT count(*)::int AS n, max(version) AS v, count(*) FILTER (WHERE NOT archived)::int AS live,
      count(DISTINCT flow_group_id)::int AS groups FROM flow WHERE name = 'shared-flow'`;
    expect(summary).toEqual({ n: 10, v: 10, live: 1, groups: 1 });
  });

  test("runs with one idempotency key, created on both replicas at once: one run", async () => {
    const { id: flowId } = await one.createFlow({ serializedFlow: serializedFlow("keyed"), projectId });
    const created = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? two : one).createFlowRun({ flowId, idempotencyKey: "nightly" })),
    );
    expect(new Set(created.map((r) => r.id)).size).toBe(1);
    const [n] = await raw`SELECT count(*)::int AS n FROM flow_run WHERE flow_id = ${flowId}`;
    expect(n.n).toBe(1);
  });

  test("agents on both replicas claim 60 runs: each run claimed once, and it runs to Success with logs", async () => {
    const { id: flowId } = await one.createFlow({ serializedFlow: serializedFlow("claimed"), projectId });
    const runIds: string[] = [];
    for (let i = 0; i < 60; i++) runIds.push((await (i % 2 ? two : one).createFlowRun({ flowId, labels: [] })).id);
    const [agentOne, agentTwo] = await Promise.all([
      one.registerAgent({ name: "agent-1", type: "test" }),
      two.registerAgent({ name: "agent-2", type: "test" }),
    ]);
    // The same identity registered on both replicas is one agent.
    const same = await Promise.all([one.registerAgent({ name: "agent-1", type: "test" }), two.registerAgent({ name: "agent-1", type: "test" })]);
    expect(same.map((r) => r.id)).toEqual([agentOne.id, agentOne.id]);

    const mine = new Set(runIds);
    const claimedBy = new Map<string, number>();
    const claimer = async (services: Services, agentId: string) => {
      for (;;) {
        const claimed = await services.claimRuns({ agentId, limit: 4, labels: [] });
        if (!claimed.length) return;
        for (const run of claimed) if (mine.has(run.id)) claimedBy.set(run.id, (claimedBy.get(run.id) ?? 0) + 1);
      }
    };
    await Promise.all([claimer(one, agentOne.id), claimer(one, agentOne.id), claimer(two, agentTwo.id), claimer(two, agentTwo.id)]);
    expect(claimedBy.size).toBe(60);
    expect([...claimedBy.values()].every((n) => n === 1)).toBe(true);

    // One of them, run to the end through the other replica.
    const runId = runIds[0]!;
    const [{ version }] = await raw`SELECT version FROM flow_run WHERE id = ${runId}`;
    await two.setFlowRunStates([{ flowRunId: runId, version, state: { type: "Running" } }]);
    for (const slug of ["first-1", "second-1"]) {
      const info = await two.getOrCreateTaskRunInfo({ flowRunId: runId, taskSlug: slug });
      const [running] = await two.setTaskRunStates([{ taskRunId: info.id, version: info.version, state: { type: "Running" } }]);
      expect(running).toMatchObject({ status: "SUCCESS" });
      await one.setTaskRunStates([{ taskRunId: info.id, version: info.version + 1, state: { type: "Success" } }]);
    }
    const logs = await one.writeRunLogs([{ flow_run_id: runId, message: "hello from PostgreSQL", level: "INFO", timestamp: new Date().toISOString() }]);
    expect(logs).toMatchObject({ written: 1, skipped: 0 });
    const [now] = await raw`SELECT version FROM flow_run WHERE id = ${runId}`;
    await one.setFlowRunStates([{ flowRunId: runId, version: now.version, state: { type: "Success" } }]);
    const [done] = await raw`SELECT state, end_time IS NOT NULL AS ended, (SELECT count(*)::int FROM log WHERE flow_run_id = ${runId}) AS logs,
      (SELECT count(*)::int FROM task_run WHERE flow_run_id = ${runId} AND state = 'Success') AS tasks FROM flow_run WHERE id = ${runId}`;
    expect(done).toEqual({ state: "Success", ended: true, logs: 1, tasks: 2 });

    // The rest are cancelled from either replica.
    const cancelled = await Promise.all(runIds.slice(1, 5).map((id, i) => (i % 2 ? two : one).cancelFlowRun(id)));
    expect(cancelled.every((c) => c.state === "Cancelled" || c.state === "Cancelling")).toBe(true);
  });

  test("the scheduler on both replicas fills a schedule once", async () => {
    const flow = serializedFlow("scheduled");
    const schedule = {
      clocks: [{ type: "IntervalClock", intervalMs: 3_600_000, startDate: "2024-01-01T00:00:00.000Z", parameterDefaults: {}, labels: [] }],
    };
    const { id: flowId } = await one.createFlow({ serializedFlow: { ...flow, schedule }, projectId, setScheduleActive: false });
    await a.store.flows.setScheduleActive(flowId, true, new Date().toISOString());
    const results = await Promise.all([one.scheduleFlowRuns(flowId, { maxRuns: 5 }), two.scheduleFlowRuns(flowId, { maxRuns: 5 })]);
    expect(results.reduce((x, y) => x + y, 0)).toBe(5);
    const [n] = await raw`SELECT count(*)::int AS n, count(DISTINCT scheduled_start_time)::int AS distinct_times FROM flow_run WHERE flow_id = ${flowId}`;
    expect(n).toEqual({ n: 5, distinct_times: 5 });
    expect(await one.nextDueAt(new Date("2000-01-01T00:00:00.000Z"))).toBeInstanceOf(Date);
  });
});
