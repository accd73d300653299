/**
 * The Store contract: the same repository and transaction cases on every store (SQLite, and
 * PostgreSQL when it is installed): every repository method returns the same records on both,
 * also with a second client (another Storage on the same database) writing too. Dialect-specific
 * cases stay in store.test.ts (SQLite) and postgres/store.test.ts (PostgreSQL: pools, retries,
 * row locks, SKIP LOCKED, NOTIFY, advisory locks).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { newId } from "../../src/services/ids.ts";
import { openStorage, type Storage } from "../../src/storage/open.ts";
import type { FlowGroupRecord, NewFlow, Store } from "../../src/storage/store.ts";
import { openTestBackend, rows } from "../services/fixtures.ts";
import { describeBackends, openTestStorage, type TestStorage } from "../storage-helpers.ts";
import { flow, group, LATER, NOW, run, task, taskRun, write } from "./store-records.ts";

describeBackends((kind) => {
  describe("repositories and transactions", () => {
    let db: TestStorage;
    /** A second client of the same database. */
    let other: Storage;
    let store: Store;
    let projectId: string;

    beforeAll(async () => {
      db = await openTestStorage(kind);
      store = db.store;
      other = await openStorage(db.url, { migrate: false });
      projectId = (await store.projects.insertIfAbsent({ id: newId(), name: "default", description: null }, NOW)).id;
    });

    afterAll(async () => {
      await other?.close();
      await db?.close();
    });

    /** A group, a flow of it with tasks t1, t2, and that flow's id. */
    async function registered(over: Partial<NewFlow> = {}, settings: Partial<FlowGroupRecord["settings"]> = {}) {
      const g = group(undefined, settings);
      await store.flows.insertGroup(g, NOW);
      const f = flow(projectId, g.id, 1, over);
      await store.flows.insert(f, NOW);
      const tasks = [task(f.id, "t1"), task(f.id, "t2")];
      await store.flows.insertTasks(tasks, NOW);
      return { group: g, flow: f, tasks };
    }

  describe("projects", () => {
    test("insert, get, findByName; insertIfAbsent returns the existing one", async () => {
      const p = { id: newId(), name: `p-${newId()}`, description: "d" };
      await store.projects.insert(p, NOW);
      expect(await store.projects.get(p.id)).toEqual(p);
      expect(await store.projects.findByName(p.name)).toEqual(p);
      expect(await store.projects.insertIfAbsent({ id: newId(), name: p.name, description: null }, NOW)).toEqual(p);
      expect(await store.projects.get("not-a-uuid")).toBeUndefined();
      expect(await store.projects.findByName("nope")).toBeUndefined();
    });
  });

  describe("flows", () => {
    test("groups: insert, get, by name, update, insertGroupIfAbsent", async () => {
      const g = group();
      g.labels = ["x", "y"];
      g.defaultParameters = { a: 1 };
      g.runConfig = { env: { A: "1" } };
      await store.flows.insertGroup(g, NOW);
      expect(await store.flows.getGroup(g.id)).toEqual(g);
      expect(await store.flows.getGroupByName(g.name)).toEqual(g);
      await store.flows.updateGroup(g.id, { labels: null, defaultParameters: { b: 2 }, settings: { ...g.settings, lazarus_enabled: false } }, LATER);
      const updated = await store.flows.getGroup(g.id);
      expect(updated).toEqual({ ...g, labels: null, defaultParameters: { b: 2 }, settings: { ...g.settings, lazarus_enabled: false } });
      expect(await store.flows.insertGroupIfAbsent({ ...group(g.name), id: newId() }, NOW)).toEqual(updated!);
      const fresh = group();
      expect(await store.flows.insertGroupIfAbsent(fresh, NOW)).toEqual(fresh);
      expect(await store.flows.getGroup("x")).toBeUndefined();
    });

    test("a flow reads back as written; flags are re-read past the cache", async () => {
      const { group: g, flow: f } = await registered();
      const got = await store.flows.get(f.id);
      expect(got).toEqual({
        id: f.id,
        name: f.name,
        version: 1,
        versionGroupId: f.versionGroupId,
        flowGroupId: g.id,
        projectId,
        archived: false,
        coreVersion: "1.0.0",
        serializedHash: "hash-1",
        parameters: f.parameters,
        runConfig: f.runConfig,
        schedule: null,
        isScheduleActive: false,
        created: NOW,
      });
      await store.flows.setArchived(f.id, true, LATER);
      await store.flows.setScheduleActive(f.id, true, LATER);
      expect(await store.flows.get(f.id)).toMatchObject({ archived: true, isScheduleActive: true });
      expect(await store.flows.serializedFlow(f.id)).toEqual(f.serializedFlow);
      expect(await store.flows.serializedFlow(newId())).toBeUndefined();
      expect(await store.flows.get("bad id")).toBeUndefined();
    });

    test("versions: newest, newestUnarchived, unarchivedIds, maxVersion, latestByProjectAndName", async () => {
      const g = group();
      await store.flows.insertGroup(g, NOW);
      const v1 = flow(projectId, g.id, 1, { name: `versions-${g.id}` });
      const v2 = flow(projectId, g.id, 2, { name: v1.name, archived: true });
      await store.flows.insert(v1, NOW);
      await store.flows.insert(v2, LATER);
      expect((await store.flows.newest(g.id))?.id).toBe(v2.id);
      expect((await store.flows.newestUnarchived({ flowGroupId: g.id }))?.id).toBe(v1.id);
      expect((await store.flows.newestUnarchived({ versionGroupId: g.id }))?.id).toBe(v1.id);
      expect(await store.flows.unarchivedIds(g.id)).toEqual([v1.id]);
      expect(await store.flows.maxVersion(g.id)).toBe(2);
      expect(await store.flows.maxVersion(newId())).toBe(0);
      expect((await store.flows.latestByProjectAndName(projectId, v1.name))?.id).toBe(v2.id);
      // (flow_group_id, version) is unique
      await expect(store.flows.insert(flow(projectId, g.id, 2), NOW)).rejects.toThrow();
      await store.flows.delete(v2.id);
      expect(await store.flows.get(v2.id)).toBeUndefined();
      expect(await store.flows.maxVersion(g.id)).toBe(1);
    });

    test("tasks keep the order they were inserted in (not their ids'), edges, findTask", async () => {
      const g = group();
      await store.flows.insertGroup(g, NOW);
      const f = flow(projectId, g.id);
      await store.flows.insert(f, NOW);
      const tasks = [task(f.id, "zeta"), task(f.id, "alpha", { cacheKey: "shared" }), task(f.id, "mid", { type: "parameter", mapped: true, timeoutMs: 10 })];
      // ids in reverse of the insert order
      [tasks[0]!.id, tasks[2]!.id] = [tasks[2]!.id, tasks[0]!.id];
      await store.flows.insertTasks(tasks, NOW);
      await store.flows.insertTasks([task(f.id, "after")], NOW);
      expect((await store.flows.tasks(f.id)).map((t) => t.slug)).toEqual(["zeta", "alpha", "mid", "after"]);
      expect((await store.flows.tasks(f.id))[0]).toEqual({ id: tasks[0]!.id, flowId: f.id, slug: "zeta", name: "zeta", cacheKey: null });
      expect((await store.flows.tasks(f.id))[1]?.cacheKey).toBe("shared");
      await store.flows.insertEdges(
        [
          { id: newId(), flowId: f.id, upstreamTaskId: tasks[0]!.id, downstreamTaskId: tasks[1]!.id, key: null, mapped: true },
          { id: newId(), flowId: f.id, upstreamTaskId: tasks[2]!.id, downstreamTaskId: tasks[1]!.id, key: "x", mapped: false },
        ],
        NOW,
      );
      expect(await store.flows.edges(f.id)).toContainEqual({ upstreamTaskId: tasks[0]!.id, downstreamTaskId: tasks[1]!.id, mapped: true });
      expect((await store.flows.edges(f.id)).length).toBe(2);
      // An edge's key is text (the argument's name), as Prefect Server's.
      const keys = await db.sql<{ key: string | null }>("SELECT key FROM edge WHERE flow_id = $id ORDER BY key", { id: f.id });
      expect(keys.map((k) => k.key).sort()).toEqual([null, "x"].sort());
      expect(await store.flows.findTask(f.id, { slug: "alpha" })).toEqual({ id: tasks[1]!.id, flowId: f.id, slug: "alpha", name: "alpha", cacheKey: "shared" });
      expect((await store.flows.findTask(f.id, { id: tasks[2]!.id }))?.slug).toBe("mid");
      expect(await store.flows.findTask(f.id, { id: "nope" })).toBeUndefined();
      expect(await store.flows.tasks(newId())).toEqual([]);
    });
  });

  describe("flow runs", () => {
    test("insert and get: ISO times with ms and Z, parsed JSON, booleans, the first history row", async () => {
      const { flow: f } = await registered();
      const r = run(f.id, { labels: ["a"], autoScheduled: true, scheduledStartTime: LATER }, write("Scheduled", NOW, { startTime: LATER }));
      await store.flowRuns.insert(r, NOW);
      expect(await store.flowRuns.get(r.id)).toEqual({
        id: r.id,
        flowId: f.id,
        name: "brave-otter",
        labels: ["a"],
        parameters: { x: 2 },
        version: 1,
        state: "Scheduled",
        stateStartTime: LATER,
        serializedState: r.initialState.state,
        scheduledStartTime: LATER,
        autoScheduled: true,
        idempotencyKey: null,
        heartbeat: null,
        startTime: null,
        endTime: null,
        agentId: null,
      });
      expect(await store.flowRuns.writtenState(r.initialState.id)).toEqual({ runId: r.id, version: 1 });
      expect(await store.flowRuns.get(newId())).toBeUndefined();
      expect(await store.flowRuns.get("garbage")).toBeUndefined();
    });

    test("runConfig: the run's run config as JSON, null without one or without the run", async () => {
      const { flow: f } = await registered();
      const config = { type: "LocalRun", env: { A: "1" }, labels: ["x"], reuseProcess: true };
      const withConfig = run(f.id, { runConfig: config }, write("Scheduled", NOW));
      const without = run(f.id, {}, write("Scheduled", NOW));
      for (const r of [withConfig, without]) await store.flowRuns.insert(r, NOW);
      expect(await store.flowRuns.runConfig(withConfig.id)).toEqual(config);
      expect(await store.flowRuns.runConfig(without.id)).toBeNull();
      expect(await store.flowRuns.runConfig(newId())).toBeNull();
      expect(await store.flowRuns.runConfig("garbage")).toBeNull();
    });

    test("insertIfAbsent: a key is taken once; no key always inserts", async () => {
      const { flow: f } = await registered();
      const first = run(f.id, { idempotencyKey: "k1" });
      expect(await store.flowRuns.insertIfAbsent(first, NOW)).toEqual({ id: first.id, created: true });
      const dup = run(f.id, { idempotencyKey: "k1" });
      expect(await store.flowRuns.insertIfAbsent(dup, NOW)).toEqual({ id: first.id, created: false });
      expect(await store.flowRuns.get(dup.id)).toBeUndefined();
      expect(await store.flowRuns.writtenState(dup.initialState.id)).toBeUndefined();
      expect((await store.flowRuns.findByIdempotencyKey(f.id, "k1"))?.id).toBe(first.id);
      const a = run(f.id);
      const b = run(f.id);
      expect((await store.flowRuns.insertIfAbsent(a, NOW)).created).toBe(true);
      expect((await store.flowRuns.insertIfAbsent(b, NOW)).created).toBe(true);
    });

    test("writeState: versioned; a stale version is VersionConflict and writes nothing", async () => {
      const { flow: f } = await registered();
      const agent = { id: newId(), name: "ag", type: "local", coreVersion: null, labels: [], lastQueried: null, agentConfigId: null };
      await store.agents.insert(agent, NOW);
      const r = run(f.id);
      await store.flowRuns.insert(r, NOW);
      const running = write("Running", LATER, { markStarted: true, heartbeat: LATER, agentId: agent.id });
      expect(await store.flowRuns.writeState(r.id, 1, running)).toBe(2);
      expect(await store.flowRuns.get(r.id)).toMatchObject({
        version: 2,
        state: "Running",
        startTime: LATER,
        heartbeat: LATER,
        agentId: agent.id,
        endTime: null,
        serializedState: running.state,
      });
      const stale = write("Success", LATER, { markEnded: true });
      await expect(store.flowRuns.writeState(r.id, 1, stale)).rejects.toMatchObject({ code: "VersionConflict" });
      expect(await store.flowRuns.writtenState(stale.id)).toBeUndefined();
      expect(await store.flowRuns.writeState(r.id, 2, stale)).toBe(3);
      expect(await store.flowRuns.get(r.id)).toMatchObject({ version: 3, state: "Success", endTime: LATER, agentId: agent.id, startTime: LATER });
      expect(await store.flowRuns.writtenState(stale.id)).toEqual({ runId: r.id, version: 3 });
      await expect(store.flowRuns.writeState(newId(), 1, write("Running", NOW))).rejects.toMatchObject({ code: "VersionConflict" });
      await expect(store.flowRuns.writeState("nope", 1, write("Running", NOW))).rejects.toMatchObject({ code: "VersionConflict" });
    });

    test("heartbeat, scheduledRunIds, someRunIds, prepareRestart, delete", async () => {
      const { flow: f } = await registered();
      const auto = run(f.id, { autoScheduled: true });
      const adhoc = run(f.id);
      const pending = run(f.id, {}, write("Pending", NOW));
      for (const r of [auto, adhoc, pending]) await store.flowRuns.insert(r, NOW);
      expect(await store.flowRuns.setHeartbeat(auto.id, LATER)).toBe(true);
      expect((await store.flowRuns.get(auto.id))?.heartbeat).toBe(LATER);
      expect(await store.flowRuns.setHeartbeat(newId(), LATER)).toBe(false);
      expect(await store.flowRuns.scheduledRunIds(f.id, true)).toEqual([auto.id]);
      expect(await store.flowRuns.scheduledRunIds(f.id, false)).toEqual([adhoc.id]);
      expect((await store.flowRuns.someRunIds(f.id, 2)).length).toBe(2);
      expect((await store.flowRuns.someRunIds(f.id, 10)).sort()).toEqual([auto.id, adhoc.id, pending.id].sort());
      await store.flowRuns.writeState(adhoc.id, 1, write("Success", LATER, { markEnded: true, agentId: null }));
      await store.flowRuns.prepareRestart(adhoc.id, ["z"]);
      const restarted = await store.flowRuns.get(adhoc.id);
      expect(restarted).toMatchObject({ labels: ["z"], endTime: null, agentId: null });
      await store.flowRuns.delete([auto.id, adhoc.id, "not-an-id"]);
      expect(await store.flowRuns.someRunIds(f.id, 10)).toEqual([pending.id]);
    });

    test("queue: due waiting runs by start time then id, labels covered, Running runs with a due task run", async () => {
      await db.sql("DELETE FROM flow_run"); // other tests' runs would be due too
      const { flow: f, tasks } = await registered();
      const label = `q-${newId()}`;
      const at = (m: number) => `2030-01-0${m}T00:00:00.000Z`;
      const late = run(f.id, { labels: [label] }, write("Scheduled", NOW, { startTime: at(3) }));
      const early = run(f.id, { labels: [label] }, write("Retrying", NOW, { startTime: at(1) }));
      const otherLabel = run(f.id, { labels: [label, "gpu"] }, write("Scheduled", NOW, { startTime: at(1) }));
      const notDue = run(f.id, { labels: [label] }, write("Scheduled", NOW, { startTime: "2031-01-01T00:00:00.000Z" }));
      const running = run(f.id, { labels: [label] }, write("Running", NOW, { startTime: at(2) }));
      for (const r of [late, early, otherLabel, notDue, running]) await store.flowRuns.insert(r, NOW);
      await store.taskRuns.insertMissing([taskRun(running.id, tasks[0]!.id, "t1", -1, write("Retrying", NOW, { startTime: at(2) }))], NOW);
      const before = "2030-12-31T00:00:00.000Z";
      const ids = async (q: Partial<Parameters<Store["flowRuns"]["queue"]>[0]>) =>
        (await store.flowRuns.queue({ before, labels: [label], limit: 10, ...q })).map((r) => r.id);
      expect(await ids({})).toEqual([early.id, running.id, late.id]);
      expect(await ids({ includeRunning: false })).toEqual([early.id, late.id]);
      expect(await ids({ labels: [label, "gpu"], includeRunning: false })).toEqual(
        [early.id, otherLabel.id].sort((a, b) => (a < b ? -1 : 1)).concat(late.id),
      );
      expect(await ids({ limit: 1 })).toEqual([early.id]);
      expect(await ids({ labels: [] })).toEqual([]);
      // claim outside a transaction is a plain read
      expect(await ids({ claim: true, includeRunning: false })).toEqual([early.id, late.id]);
      for (const r of [late, early, otherLabel, notDue, running]) await store.flowRuns.delete([r.id]);
    });
  });

  describe("task runs", () => {
    test("insertMissing: new ones only (and their first history row), in one statement", async () => {
      const { flow: f, tasks } = await registered();
      const r = run(f.id);
      await store.flowRuns.insert(r, NOW);
      const a = taskRun(r.id, tasks[0]!.id, "t1");
      const b = taskRun(r.id, tasks[1]!.id, "t2", 0);
      expect(await store.taskRuns.insertMissing([a, b], NOW)).toBe(2);
      const again = taskRun(r.id, tasks[0]!.id, "t1");
      const c = taskRun(r.id, tasks[1]!.id, "t2", 1);
      const cTwice = taskRun(r.id, tasks[1]!.id, "t2", 1);
      expect(await store.taskRuns.insertMissing([again, c, cTwice], NOW)).toBe(1);
      expect(await store.taskRuns.get(again.id)).toBeUndefined();
      expect(await store.taskRuns.writtenState(again.initialState.id)).toBeUndefined();
      expect(await store.taskRuns.writtenState(c.initialState.id)).toEqual({ runId: c.id, version: 1 });
      expect(await store.taskRuns.insertMissing([], NOW)).toBe(0);
      expect(await store.taskRuns.get(a.id)).toEqual({
        id: a.id,
        flowRunId: r.id,
        taskId: tasks[0]!.id,
        taskSlug: "t1",
        mapIndex: -1,
        version: 1,
        state: "Pending",
        serializedState: a.initialState.state,
      });
      expect(await store.taskRuns.getForWrite(b.id)).toEqual({ id: b.id, flowRunId: r.id, taskSlug: "t2", version: 1, state: "Pending" });
      expect((await store.taskRuns.find(r.id, "t2", 1))?.id).toBe(c.id);
      expect(await store.taskRuns.find(r.id, "t2", 7)).toBeUndefined();
      expect((await store.taskRuns.range(r.id, "t2", 0, 2)).map((t) => t.mapIndex)).toEqual([0, 1]);
      expect((await store.taskRuns.range(r.id, "t2", 1, 2)).map((t) => t.id)).toEqual([c.id]);
    });

    test("insertMissing keeps a task run's cache key (none when absent), and Prefect's cache lookup finds it by key across flows", async () => {
      const { flow: f, tasks } = await registered();
      const { flow: other, tasks: otherTasks } = await registered();
      const key = `shared-${newId()}`;
      const r = run(f.id);
      const s = run(other.id);
      await store.flowRuns.insert(r, NOW);
      await store.flowRuns.insert(s, NOW);
      const keyed = { ...taskRun(r.id, tasks[0]!.id, "t1"), cacheKey: key };
      const keyedElsewhere = { ...taskRun(s.id, otherTasks[1]!.id, "t2"), cacheKey: key };
      const plain = taskRun(r.id, tasks[1]!.id, "t2");
      const otherKey = { ...taskRun(s.id, otherTasks[0]!.id, "t1"), cacheKey: `${key}-not` };
      expect(await store.taskRuns.insertMissing([keyed, keyedElsewhere, plain, otherKey], NOW)).toBe(4);
      const stored = await db.sql<{ id: string; cache_key: string | null }>("SELECT id, cache_key FROM task_run WHERE flow_run_id IN ($r, $s)", { r: r.id, s: s.id });
      expect(Object.fromEntries(stored.map((x) => [x.id, x.cache_key]))).toEqual({
        [keyed.id]: key,
        [keyedElsewhere.id]: key,
        [plain.id]: null,
        [otherKey.id]: `${key}-not`,
      });
      for (const t of [keyed, keyedElsewhere, otherKey]) await store.taskRuns.writeStates(t.id, 1, [write("Running", NOW), write("Success", LATER), write("Cached", LATER)]);
      // Prefect's get_latest_cached_states with a cache_key: Cached task runs of that key, newest first.
      const found = await db.storage.query.select(
        "task_run",
        { where: { state: { _eq: "Cached" }, state_timestamp: { _gte: NOW }, cache_key: { _eq: key } }, order_by: { state_timestamp: "desc" }, limit: 100 },
        ["id"],
      );
      expect(found.map((x) => x.id).sort()).toEqual([keyed.id, keyedElsewhere.id].sort());
    });

    test("ofFlowRun orders by slug bytes (as SQLite's BINARY) then map index", async () => {
      const g = group();
      await store.flows.insertGroup(g, NOW);
      const f = flow(projectId, g.id);
      await store.flows.insert(f, NOW);
      const tasks = [task(f.id, "b"), task(f.id, "B"), task(f.id, "a_x"), task(f.id, "aX")];
      await store.flows.insertTasks(tasks, NOW);
      const r = run(f.id);
      await store.flowRuns.insert(r, NOW);
      await store.taskRuns.insertMissing(
        [taskRun(r.id, tasks[0]!.id, "b", 1), taskRun(r.id, tasks[0]!.id, "b", 0), ...tasks.slice(1).map((t) => taskRun(r.id, t.id, t.slug))],
        NOW,
      );
      const order = (await store.taskRuns.ofFlowRun(r.id)).map((t) => `${t.taskSlug}:${t.mapIndex}`);
      expect(order).toEqual(["B:-1", "aX:-1", "a_x:-1", "b:0", "b:1"]);
    });

    test("writeStates: a series is one version and one history row per state; unfinished; clearTimes; heartbeat", async () => {
      const { flow: f, tasks } = await registered();
      const r = run(f.id);
      await store.flowRuns.insert(r, NOW);
      const t = taskRun(r.id, tasks[0]!.id, "t1");
      const u = taskRun(r.id, tasks[1]!.id, "t2");
      await store.taskRuns.insertMissing([t, u], NOW);
      const running = write("Running", NOW, { markStarted: true, heartbeat: NOW });
      const success = write("Success", LATER, { markEnded: true });
      expect(await store.taskRuns.writeStates(t.id, 1, [running, success])).toBe(3);
      expect(await store.taskRuns.writtenState(running.id)).toEqual({ runId: t.id, version: 2 });
      expect(await store.taskRuns.writtenState(success.id)).toEqual({ runId: t.id, version: 3 });
      expect(await store.taskRuns.get(t.id)).toMatchObject({ version: 3, state: "Success", serializedState: success.state });
      const [times] = await db.sql("SELECT start_time, end_time, heartbeat FROM task_run WHERE id = $id", { id: t.id });
      expect(times).toEqual({ start_time: NOW, end_time: LATER, heartbeat: NOW });
      expect(await store.taskRuns.writeStates(t.id, 3, [])).toBe(3);
      await expect(store.taskRuns.writeStates(t.id, 2, [write("Failed", LATER)])).rejects.toMatchObject({ code: "VersionConflict" });
      expect((await store.taskRuns.unfinished(r.id)).map((x) => x.id)).toEqual([u.id]);
      expect(await store.taskRuns.writeState(u.id, 1, write("Running", NOW))).toBe(2);
      expect(await store.taskRuns.setHeartbeat(u.id, LATER)).toBe(true);
      expect(await store.taskRuns.setHeartbeat("x", LATER)).toBe(false);
      await store.taskRuns.clearTimes([t.id, u.id]);
      const [cleared] = await db.sql("SELECT start_time, end_time, heartbeat FROM task_run WHERE id = $id", { id: t.id });
      expect(cleared).toEqual({ start_time: null, end_time: null, heartbeat: null });
    });
  });

  describe("logs", () => {
    test("insertValid: unknown runs, task runs of another run and stored ids are skipped, in one statement", async () => {
      const { flow: f, tasks } = await registered();
      const r1 = run(f.id);
      const r2 = run(f.id);
      await store.flowRuns.insert(r1, NOW);
      await store.flowRuns.insert(r2, NOW);
      const t2 = taskRun(r2.id, tasks[0]!.id, "t1");
      await store.taskRuns.insertMissing([t2], NOW);
      const line = (flowRunId: string, taskRunId: string | null = null, id = newId()) => ({
        id,
        flowRunId,
        taskRunId,
        timestamp: NOW,
        name: "n",
        level: "INFO",
        message: "hello",
        info: { k: [1] },
      });
      const kept = line(r1.id);
      const written = await store.transaction(() =>
        store.logs.insertValid([kept, line(newId()), line(r1.id, t2.id), line(r2.id, t2.id), line(r1.id, null, kept.id), line("bad")], NOW),
      );
      expect(written).toBe(2);
      expect(await store.transaction(() => store.logs.insertValid([kept], NOW))).toBe(0);
      const rows = await db.sql<{ id: string; info: string }>("SELECT id, info FROM log WHERE flow_run_id IN ($r1, $r2) ORDER BY flow_run_id", { r1: r1.id, r2: r2.id });
      expect(rows.length).toBe(2);
      expect(JSON.parse(rows.find((x) => x.id === kept.id)!.info)).toEqual({ k: [1] });
      expect(await store.logs.insertValid([], NOW)).toBe(0);
    });
  });

  describe("agents", () => {
    test("insert, get, findIdentity (null core version), register, touch", async () => {
      const a = { id: newId(), name: `ag-${newId()}`, type: "local", coreVersion: null, labels: ["a", "b"], lastQueried: null, agentConfigId: null };
      await store.agents.insert(a, NOW);
      expect(await store.agents.get(a.id)).toEqual(a);
      expect(await store.agents.findIdentity({ name: a.name, type: "local", coreVersion: null, labels: ["a", "b"] })).toEqual(a);
      expect(await store.agents.findIdentity({ name: a.name, type: "local", coreVersion: "1", labels: ["a", "b"] })).toBeUndefined();
      expect(await store.agents.register({ ...a, id: newId() }, NOW)).toEqual(a);
      const v1 = { ...a, id: newId(), coreVersion: "1" };
      expect(await store.agents.register(v1, NOW)).toEqual(v1);
      await store.agents.touch(a.id, LATER);
      expect((await store.agents.get(a.id))?.lastQueried).toBe(LATER);
    });

    test("agent configs: insert, get, update (only the fields given), delete; an agent's link follows its latest registration", async () => {
      const c = { id: newId(), name: "gpu", settings: { is_healthy: true, nested: { k: [1, "x"] } } };
      await store.agentConfigs.insert(c, NOW);
      expect(await store.agentConfigs.get(c.id)).toEqual(c);
      expect(await store.agentConfigs.get(newId())).toBeUndefined();
      expect(await store.agentConfigs.get("not-a-uuid")).toBeUndefined();
      expect(await store.agentConfigs.update(c.id, { settings: { b: 2 } }, LATER)).toBe(true);
      expect(await store.agentConfigs.get(c.id)).toEqual({ ...c, settings: { b: 2 } });
      expect(await store.agentConfigs.update(c.id, { name: "renamed" }, LATER)).toBe(true);
      expect(await store.agentConfigs.get(c.id)).toEqual({ id: c.id, name: "renamed", settings: { b: 2 } });
      expect(await store.agentConfigs.update(c.id, { name: null }, LATER)).toBe(true);
      expect((await store.agentConfigs.get(c.id))?.name).toBeNull();
      expect(await store.agentConfigs.update(c.id, {}, LATER)).toBe(true);
      expect(await store.agentConfigs.update(newId(), { name: "x" }, LATER)).toBe(false);
      expect(await store.agentConfigs.update("nope", { name: "x" }, LATER)).toBe(false);
      const [updated] = await db.sql<{ updated: unknown }>("SELECT updated FROM agent_config WHERE id = $id", { id: c.id });
      expect(new Date(updated!.updated as string).toISOString()).toBe(LATER);

      // register: the existing agent of an identity takes the config of its latest registration.
      const agent = { id: newId(), name: `cfg-${newId()}`, type: "local", coreVersion: "1.4.1", labels: [], lastQueried: null, agentConfigId: null };
      expect(await store.transaction(() => store.agents.register(agent, NOW))).toEqual(agent);
      const linked = await store.transaction(() => store.agents.register({ ...agent, id: newId(), agentConfigId: c.id }, LATER));
      expect(linked).toEqual({ ...agent, agentConfigId: c.id });
      expect(await other.store.agents.get(agent.id)).toEqual({ ...agent, agentConfigId: c.id });
      expect(await store.transaction(() => store.agents.register({ ...agent, id: newId(), agentConfigId: c.id }, LATER))).toEqual(linked);

      // delete: the agent stays, linked to none (Server's ON DELETE SET NULL).
      expect(await store.transaction(() => store.agentConfigs.delete(c.id))).toBe(true);
      expect(await store.agentConfigs.get(c.id)).toBeUndefined();
      expect(await store.agents.get(agent.id)).toEqual(agent);
      expect(await store.agentConfigs.delete(c.id)).toBe(false);
      expect(await store.agentConfigs.delete("nope")).toBe(false);
      // The database refuses a link to a config that does not exist.
      await expect(store.transaction(() => store.agents.insert({ ...agent, id: newId(), name: `dangling-${newId()}`, agentConfigId: newId() }, NOW))).rejects.toThrow();
    });
  });

  describe("schedules", () => {
    test("active, lastAutoScheduledStart, nextDueAfter, setGroupSchedule", async () => {
      const schedule = { type: "IntervalSchedule", interval: 60_000 } as never;
      const { group: g, flow: f, tasks } = await registered({ isScheduleActive: true });
      expect((await store.schedules.active(NOW)).some((a) => a.flowId === f.id)).toBe(false);
      await store.schedules.setGroupSchedule(g.id, schedule, NOW);
      expect((await store.flows.getGroup(g.id))?.schedule).toEqual(schedule);
      const future = "2099-01-01T00:00:00.000Z";
      await store.flowRuns.insert(run(f.id, { autoScheduled: true, scheduledStartTime: future }, write("Scheduled", NOW, { startTime: future })), NOW);
      await store.flowRuns.insert(run(f.id, { autoScheduled: true, scheduledStartTime: NOW }), NOW);
      expect((await store.schedules.active(LATER)).find((a) => a.flowId === f.id)).toEqual({ flowId: f.id, upcoming: 1 });
      expect(await store.schedules.lastAutoScheduledStart(f.id)).toBe(future);
      expect(await store.schedules.lastAutoScheduledStart(newId())).toBeUndefined();
      expect(await store.schedules.nextDueAfter("2098-12-31T00:00:00.000Z")).toBe(future);
      const running = run(f.id, {}, write("Running", NOW));
      await store.flowRuns.insert(running, NOW);
      const soon = "2098-12-31T06:00:00.500Z";
      await store.taskRuns.insertMissing([taskRun(running.id, tasks[0]!.id, "t1", -1, write("Retrying", NOW, { startTime: soon }))], NOW);
      expect(await store.schedules.nextDueAfter("2098-12-31T00:00:00.000Z")).toBe(soon);
      expect(await store.schedules.nextDueAfter("2100-01-01T00:00:00.000Z")).toBeUndefined();
      await store.schedules.setGroupSchedule(g.id, null, NOW);
      expect((await store.schedules.active(LATER)).some((a) => a.flowId === f.id)).toBe(false);
      await store.flowRuns.delete(await store.flowRuns.someRunIds(f.id, 100));
    });
  });

  describe("safeguards", () => {
    test("zombies, silent cancelling runs, Lazarus candidates, staleRun, increment, setLabels", async () => {
      await db.sql("DELETE FROM flow_run"); // other tests' runs would be due too
      const cutoff = "2024-01-01T13:00:00.000Z";
      const { flow: f, tasks } = await registered();
      const { flow: off } = await registered({}, { heartbeat_enabled: false });
      const { flow: noLazarus } = await registered({}, { lazarus_enabled: false });
      const zombieRun = run(f.id, {}, write("Running", NOW));
      const cancelling = run(f.id, {}, write("Cancelling", NOW));
      const lazarus = run(f.id, {}, write("Submitted", NOW));
      const offRun = run(off.id, {}, write("Running", NOW));
      const noLazarusRun = run(noLazarus.id, {}, write("Running", NOW));
      for (const r of [zombieRun, cancelling, lazarus, offRun, noLazarusRun]) await store.flowRuns.insert(r, NOW);
      const zt = taskRun(zombieRun.id, tasks[0]!.id, "t1", -1, write("Running", NOW));
      await store.taskRuns.insertMissing([zt], NOW);
      expect(await store.safeguards.zombieTaskRuns(cutoff, 10)).toEqual([
        { id: zt.id, flowRunId: zombieRun.id, flowRunState: "Running", taskSlug: "t1", version: 1, maxRetries: 2, retryDelayMs: 500, attempts: 1 },
      ]);
      expect(await store.safeguards.zombieTaskRuns(NOW, 10)).toEqual([]);
      expect(await store.safeguards.silentCancellingRuns(cutoff, 10)).toEqual([{ id: cancelling.id, version: 1, state: "Cancelling", timesResurrected: 0 }]);
      expect((await store.safeguards.lazarusCandidates(cutoff, 10)).map((r) => r.id)).toEqual([lazarus.id]);
      await store.safeguards.incrementTimesResurrected(lazarus.id);
      expect(await store.safeguards.staleRun(lazarus.id)).toEqual({ id: lazarus.id, version: 1, state: "Submitted", timesResurrected: 1 });
      expect(await store.safeguards.staleRun("x")).toBeUndefined();
      await store.safeguards.setLabels(lazarus.id, ["l"]);
      expect((await store.flowRuns.get(lazarus.id))?.labels).toEqual(["l"]);
      for (const r of [zombieRun, cancelling, lazarus, offRun, noLazarusRun]) await store.flowRuns.delete([r.id]);
    });
  });

  describe("transactions", () => {
    test("commit, rollback on a throw, inTransaction", async () => {
      const kept = { id: newId(), name: `tx-${newId()}`, description: null };
      const dropped = { id: newId(), name: `tx-${newId()}`, description: null };
      expect(store.inTransaction()).toBe(false);
      await store.transaction(async () => {
        expect(store.inTransaction()).toBe(true);
        await store.projects.insert(kept, NOW);
      });
      await expect(
        store.transaction(async () => {
          await store.projects.insert(dropped, NOW);
          // inside: visible to this transaction, not to another client
          expect(await store.projects.get(dropped.id)).toEqual(dropped);
          expect(await other.store.projects.get(dropped.id)).toBeUndefined();
          throw new Error("no");
        }),
      ).rejects.toThrow("no");
      expect(await store.projects.get(kept.id)).toEqual(kept);
      expect(await store.projects.get(dropped.id)).toBeUndefined();
    });

    test("a nested transaction is a savepoint: its failure, caught, rolls back alone (even a failed statement)", async () => {
      const outer = { id: newId(), name: `sp-${newId()}`, description: null };
      const inner = { id: newId(), name: `sp-${newId()}`, description: null };
      await store.transaction(async () => {
        await store.projects.insert(outer, NOW);
        await expect(
          store.transaction(async () => {
            await store.projects.insert(inner, NOW);
            await store.projects.insert({ ...inner, id: newId() }, NOW); // 23505: aborts the savepoint only
          }),
        ).rejects.toThrow();
        const kept = { id: newId(), name: `sp-${newId()}`, description: null };
        await store.transaction(() => store.projects.insert(kept, NOW));
        expect(await store.projects.get(kept.id)).toEqual(kept);
      });
      expect(await store.projects.get(outer.id)).toEqual(outer);
      expect(await store.projects.get(inner.id)).toBeUndefined();
    });
  });
  });

    test("a state write with a stale version is a VersionConflict and leaves no history row", async () => {
      const b = await openTestBackend({ kind });
      const flowId = (
        await b.services.createFlow({
          serializedFlow: { name: "f", tasks: [], edges: [], parameters: [] },
          projectId: b.projectId,
        })
      ).id;
      const runId = (await b.services.createFlowRun({ flowId })).id;
      const store = b.store;
      const write = {
        id: randomUUID(),
        state: { type: "Running" as const, message: "", timestamp: b.clock.iso() },
        markStarted: true,
        markEnded: false,
        heartbeat: null,
      };
      await expect(store.transaction(() => store.flowRuns.writeState(runId, 7, write))).rejects.toThrow(
        expect.objectContaining({ code: "VersionConflict" }),
      );
      expect(await rows(b, "SELECT state FROM flow_run_state WHERE flow_run_id = $id", { id: runId })).toEqual([{ state: "Scheduled" }]);
      expect(await store.transaction(() => store.flowRuns.writeState(runId, 1, write))).toBe(2);
    });

    test("a throw inside a transaction rolls back every write in it", async () => {
      const b = await openTestBackend({ kind });
      const store = b.store;
      await expect(
        store.transaction(async () => {
          await store.projects.insert({ id: randomUUID(), name: "rolled-back", description: null }, b.clock.iso());
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await store.projects.findByName("rolled-back")).toBeUndefined();
    });

  test("insertIfAbsent of a taken project name returns the stored project; lock.flowName outside a transaction is a no-op", async () => {
    const b = await openTestBackend({ kind });
    const stored = (await b.store.projects.findByName("test"))!;
    const again = await b.store.transaction(() => b.store.projects.insertIfAbsent({ id: randomUUID(), name: "test", description: null }, b.clock.iso()));
    expect(again.id).toBe(stored.id);
    await b.store.lock.flowName(b.projectId, "hello");
    expect(await b.store.transaction(async () => (await b.store.lock.flowName(b.projectId, "hello"), "locked"))).toBe("locked");
  });
});
