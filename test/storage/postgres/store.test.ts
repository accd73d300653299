/**
 * The PostgreSQL Store against a migrated database of its own: every repository method returns
 * what the SQLite one does, and the concurrency rules hold across separate clients (pools):
 * transactions, savepoints and retries, row locks, SKIP LOCKED claims, NOTIFY on commit only,
 * and exclusive loop passes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { newId } from "../../../src/services/ids.ts";
import type { Storage } from "../../../src/storage/open.ts";
import { CLAIM_QUEUE_SQL } from "../../../src/storage/postgres/flow-runs.ts";
import { openPostgresStorage } from "../../../src/storage/postgres/store.ts";
import type { FlowGroupRecord, NewFlow, NewFlowRun, NewTask, NewTaskRun, RunsChanged, StateWrite, Store } from "../../../src/storage/store.ts";
import { describePostgres, postgresDatabase, type TestDatabase } from "../../postgres.ts";

const NOW = "2024-01-01T12:00:00.000Z";
const LATER = "2024-01-01T12:05:00.123Z";

function write(type: string, timestamp: string, extra: Partial<StateWrite> & { startTime?: string; message?: string } = {}): StateWrite {
  const { startTime, message, ...rest } = extra;
  return {
    id: newId(),
    state: { type, timestamp, message: message ?? `${type}!`, startTime: startTime ?? null } as StateWrite["state"],
    markStarted: false,
    markEnded: false,
    heartbeat: null,
    ...rest,
  };
}

function group(name = `group-${newId()}`, settings: Partial<FlowGroupRecord["settings"]> = {}): FlowGroupRecord {
  return {
    id: newId(),
    name,
    labels: null,
    schedule: null,
    settings: { heartbeat_enabled: true, lazarus_enabled: true, version_locking_enabled: false, idempotency_key: null, ...settings },
    defaultParameters: {},
    runConfig: null,
  };
}

function flow(projectId: string, flowGroupId: string, version = 1, over: Partial<NewFlow> = {}): NewFlow {
  return {
    id: newId(),
    name: "etl",
    version,
    versionGroupId: flowGroupId,
    flowGroupId,
    projectId,
    archived: false,
    coreVersion: "1.0.0",
    serializedHash: `hash-${version}`,
    parameters: [{ name: "x", required: false, default: 1 }] as NewFlow["parameters"],
    runConfig: { labels: ["a"], env: { K: "v" } },
    schedule: null,
    isScheduleActive: false,
    serializedFlow: { name: "etl", tasks: [{ slug: "t1" }], nested: { z: 1, a: [true, null] } },
    storage: { type: "Local" },
    description: "the etl flow",
    ...over,
  };
}

function task(flowId: string, slug: string, over: Partial<NewTask> = {}): NewTask {
  return {
    id: newId(),
    flowId,
    slug,
    name: slug,
    type: "task",
    maxRetries: 2,
    retryDelayMs: 500,
    timeoutMs: null,
    trigger: "all_successful",
    mapped: false,
    isRootTask: true,
    isTerminalTask: true,
    isReferenceTask: true,
    tags: ["t"],
    ...over,
  };
}

function run(flowId: string, over: Partial<NewFlowRun> = {}, state = write("Scheduled", NOW, { startTime: NOW })): NewFlowRun {
  return {
    id: newId(),
    flowId,
    name: "brave-otter",
    parameters: { x: 2 },
    context: { c: 1 },
    labels: [],
    runConfig: null,
    scheduledStartTime: NOW,
    autoScheduled: false,
    idempotencyKey: null,
    initialState: state,
    ...over,
  };
}

function taskRun(flowRunId: string, taskId: string, taskSlug: string, mapIndex = -1, state = write("Pending", NOW)): NewTaskRun {
  return { id: newId(), flowRunId, taskId, taskSlug, mapIndex, initialState: state };
}

/** A promise and the function that resolves it. */
function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await Bun.sleep(5);
  }
  throw new Error(`never happened: ${what}`);
}

describePostgres("PostgreSQL store", () => {
  let database: TestDatabase;
  let storage: Storage;
  let other: Storage;
  let store: Store;
  let raw: SQL;
  let projectId: string;

  beforeAll(async () => {
    database = await postgresDatabase();
    storage = await openPostgresStorage(database.url);
    other = await openPostgresStorage(database.url, { migrate: false });
    store = storage.store;
    raw = new SQL({ url: database.url, max: 2 });
    projectId = (await store.projects.insertIfAbsent({ id: newId(), name: "default", description: null }, NOW)).id;
  });

  afterAll(async () => {
    await raw?.close();
    await other?.close();
    await storage?.close();
    await database?.drop();
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

  describe("opening", () => {
    test("the storage says where it is, without a password", () => {
      expect(storage.dialect).toBe("postgres");
      expect(storage.description).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/t\d+_\d+$/);
    });

    test("migrate: false refuses a database that is behind; the default migrates it", async () => {
      const empty = await postgresDatabase({ migrated: false });
      try {
        await expect(openPostgresStorage(empty.url, { migrate: false })).rejects.toThrow(/schema is 0.*db migrate/);
        const migrated = await openPostgresStorage(empty.url);
        await migrated.close();
        const again = await openPostgresStorage(empty.url, { migrate: false });
        await again.close();
      } finally {
        await empty.drop();
      }
    });

    test("the read side is the PostgreSQL query engine on the same pool", async () => {
      const row = await storage.query.byPk("project", projectId);
      expect(row).toMatchObject({ id: projectId, name: "default" });
      expect(await storage.query.count("project", { name: { _eq: "default" } })).toBe(1);
    });

    test("an unreachable server is Unavailable, in one line", async () => {
      await expect(openPostgresStorage("postgres://nobody@127.0.0.1:1/none")).rejects.toMatchObject({ code: "Unavailable" });
    });
  });

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

    test("concurrent insertIfAbsent of one name from two clients: one project", async () => {
      const name = `race-${newId()}`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? other : storage).store.transaction(() => (i % 2 ? other : storage).store.projects.insertIfAbsent({ id: newId(), name, description: null }, NOW)),
        ),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
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
      const tasks = [task(f.id, "zeta"), task(f.id, "alpha"), task(f.id, "mid", { type: "parameter", mapped: true, timeoutMs: 10 })];
      // ids in reverse of the insert order
      [tasks[0]!.id, tasks[2]!.id] = [tasks[2]!.id, tasks[0]!.id];
      await store.flows.insertTasks(tasks, NOW);
      await store.flows.insertTasks([task(f.id, "after")], NOW);
      expect((await store.flows.tasks(f.id)).map((t) => t.slug)).toEqual(["zeta", "alpha", "mid", "after"]);
      expect((await store.flows.tasks(f.id))[0]).toEqual({ id: tasks[0]!.id, flowId: f.id, slug: "zeta", name: "zeta" });
      await store.flows.insertEdges(
        [{ id: newId(), flowId: f.id, upstreamTaskId: tasks[0]!.id, downstreamTaskId: tasks[1]!.id, key: null, mapped: true }],
        NOW,
      );
      expect(await store.flows.edges(f.id)).toEqual([{ upstreamTaskId: tasks[0]!.id, downstreamTaskId: tasks[1]!.id, mapped: true }]);
      expect(await store.flows.findTask(f.id, { slug: "alpha" })).toEqual({ id: tasks[1]!.id, flowId: f.id, slug: "alpha", name: "alpha" });
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

    test("insertIfAbsent: a key is taken once (also racing from two clients); no key always inserts", async () => {
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

      const racers = Array.from({ length: 6 }, (_, i) => {
        const s = i % 2 ? other.store : store;
        return s.transaction(() => s.flowRuns.insertIfAbsent(run(f.id, { idempotencyKey: "race" }), NOW));
      });
      const results = await Promise.all(racers);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
    });

    test("writeState: versioned; a stale version is VersionConflict and writes nothing", async () => {
      const { flow: f } = await registered();
      const agent = { id: newId(), name: "ag", type: "local", coreVersion: null, labels: [], lastQueried: null };
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

    test("two writers of one version from two clients: exactly one wins", async () => {
      const { flow: f } = await registered();
      const r = run(f.id);
      await store.flowRuns.insert(r, NOW);
      const outcomes = await Promise.allSettled([
        store.transaction(() => store.flowRuns.writeState(r.id, 1, write("Submitted", LATER))),
        other.store.transaction(() => other.store.flowRuns.writeState(r.id, 1, write("Submitted", LATER))),
      ]);
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      expect(outcomes.find((o) => o.status === "rejected")).toMatchObject({ reason: { code: "VersionConflict" } });
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
      await raw`DELETE FROM flow_run`; // other tests' runs would be due too
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
      const [times] = await raw`SELECT start_time, end_time, heartbeat FROM task_run WHERE id = ${t.id}`;
      expect([times.start_time.toISOString(), times.end_time.toISOString(), times.heartbeat.toISOString()]).toEqual([NOW, LATER, NOW]);
      expect(await store.taskRuns.writeStates(t.id, 3, [])).toBe(3);
      await expect(store.taskRuns.writeStates(t.id, 2, [write("Failed", LATER)])).rejects.toMatchObject({ code: "VersionConflict" });
      expect((await store.taskRuns.unfinished(r.id)).map((x) => x.id)).toEqual([u.id]);
      expect(await store.taskRuns.writeState(u.id, 1, write("Running", NOW))).toBe(2);
      expect(await store.taskRuns.setHeartbeat(u.id, LATER)).toBe(true);
      expect(await store.taskRuns.setHeartbeat("x", LATER)).toBe(false);
      await store.taskRuns.clearTimes([t.id, u.id]);
      const [cleared] = await raw`SELECT start_time, end_time, heartbeat FROM task_run WHERE id = ${t.id}`;
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
      const rows = await raw`SELECT id, info, timestamp FROM log WHERE flow_run_id = ANY(${raw.array([r1.id, r2.id], "uuid")}) ORDER BY flow_run_id`;
      expect(rows.length).toBe(2);
      expect(rows.find((x: { id: string }) => x.id === kept.id)).toMatchObject({ info: { k: [1] } });
      expect(await store.logs.insertValid([], NOW)).toBe(0);
    });
  });

  describe("agents", () => {
    test("insert, get, findIdentity (null core version), insertIfAbsent, touch", async () => {
      const a = { id: newId(), name: `ag-${newId()}`, type: "local", coreVersion: null, labels: ["a", "b"], lastQueried: null };
      await store.agents.insert(a, NOW);
      expect(await store.agents.get(a.id)).toEqual(a);
      expect(await store.agents.findIdentity({ name: a.name, type: "local", coreVersion: null, labels: ["a", "b"] })).toEqual(a);
      expect(await store.agents.findIdentity({ name: a.name, type: "local", coreVersion: "1", labels: ["a", "b"] })).toBeUndefined();
      expect(await store.agents.insertIfAbsent({ ...a, id: newId() }, NOW)).toEqual(a);
      const v1 = { ...a, id: newId(), coreVersion: "1" };
      expect(await store.agents.insertIfAbsent(v1, NOW)).toEqual(v1);
      await store.agents.touch(a.id, LATER);
      expect((await store.agents.get(a.id))?.lastQueried).toBe(LATER);
      const name = `racing-${newId()}`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => {
          const s = i % 2 ? other.store : store;
          return s.transaction(() => s.agents.insertIfAbsent({ id: newId(), name, type: "local", coreVersion: null, labels: [], lastQueried: null }, NOW));
        }),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
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
      await raw`DELETE FROM flow_run`; // other tests' runs would be due too
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

    test("40001 retries the whole transaction three times, then fails", async () => {
      // A serialization failure on demand: a trigger refusing some project names, the second
      // kind only while a (non-transactional) sequence is below 3.
      await raw.unsafe(`
        CREATE SEQUENCE IF NOT EXISTS refusals;
        CREATE OR REPLACE FUNCTION refuse_project() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.name LIKE 'always-%' OR (NEW.name LIKE 'twice-%' AND nextval('refusals') <= 2) THEN
            RAISE EXCEPTION 'could not serialize (injected)' USING ERRCODE = '40001';
          END IF;
          RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS refuse_project ON project;
        CREATE TRIGGER refuse_project BEFORE INSERT ON project FOR EACH ROW EXECUTE FUNCTION refuse_project();`);
      let attempts = 0;
      const error = await store
        .transaction(async () => {
          attempts++;
          await store.projects.insert({ id: newId(), name: `always-${newId()}`, description: null }, NOW);
        })
        .catch((e) => e);
      expect(attempts).toBe(4);
      expect(error).toMatchObject({ errno: "40001" });

      let tries = 0;
      const p = { id: newId(), name: `twice-${newId()}`, description: null };
      const before = { id: newId(), name: `before-${newId()}`, description: null };
      await store.transaction(async () => {
        tries++;
        await store.projects.insert({ ...before, id: newId() }, NOW);
        await store.projects.insert(p, NOW);
      });
      expect(tries).toBe(3);
      expect(await store.projects.get(p.id)).toEqual(p);
      // each attempt's own work was rolled back with it: one `before` row, not three
      expect((await raw`SELECT count(*)::int AS n FROM project WHERE name = ${before.name}`)[0].n).toBe(1);
    });

    test("a deadlock between two clients is retried: both transactions commit", async () => {
      const { flow: f } = await registered();
      const r1 = run(f.id);
      const r2 = run(f.id);
      await store.flowRuns.insert(r1, NOW);
      await store.flowRuns.insert(r2, NOW);
      const bothLocked = { a: signal(), b: signal() };
      const done = { a: signal(), b: signal() };
      let attempts = 0;
      const crossing = (s: Store, first: string, second: string, mine: { resolve(): void }, theirs: Promise<void>, theirDone: Promise<void>) => {
        let mineAttempts = 0;
        return s.transaction(async () => {
          attempts++;
          // The deadlock victim's retry waits for the winner: otherwise it may take its first row
          // back before the winner gets it, and deadlock again.
          if (++mineAttempts > 1) await theirDone;
          await s.lock.flowRun(first, "update");
          mine.resolve();
          await theirs;
          await s.lock.flowRun(second, "update");
          await s.flowRuns.setHeartbeat(first, LATER);
        });
      };
      const a = crossing(store, r1.id, r2.id, bothLocked.a, bothLocked.b.promise, done.b.promise).finally(() => done.a.resolve());
      const b = crossing(other.store, r2.id, r1.id, bothLocked.b, bothLocked.a.promise, done.a.promise).finally(() => done.b.resolve());
      await Promise.all([a, b]);
      expect(attempts).toBe(3);
      expect((await store.flowRuns.get(r1.id))?.heartbeat).toBe(LATER);
      expect((await store.flowRuns.get(r2.id))?.heartbeat).toBe(LATER);
    });
  });

  describe("a lost connection", () => {
    test("is Unavailable (which clients retry), and the pool reconnects for the next transaction", async () => {
      const p = { id: newId(), name: `lost-${newId()}`, description: null };
      const error = await store
        .transaction(async () => {
          await store.projects.insert(p, NOW);
          await raw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()`;
          await eventually(async () => (await raw`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction'`)[0].n === 0, "the backend is gone");
          await store.projects.get(p.id);
        })
        .catch((e) => e);
      expect(error).toMatchObject({ code: "Unavailable" });
      expect(String(error.message)).toMatch(/^the database is unreachable: .*; try again$/);
      expect(await store.projects.get(p.id)).toBeUndefined();
      await store.transaction(() => store.projects.insert(p, NOW));
      expect(await store.projects.get(p.id)).toEqual(p);
    });
  });

  describe("locks", () => {
    /** Whether some backend is waiting for a lock now. */
    const someoneWaits = async () => (await raw`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`)[0].n > 0;

    test("FOR UPDATE blocks another transaction's FOR UPDATE until commit; outside a transaction a lock is a no-op", async () => {
      const { flow: f } = await registered();
      const r = run(f.id);
      await store.flowRuns.insert(r, NOW);
      const order: string[] = [];
      const held = signal();
      const first = store.transaction(async () => {
        await store.lock.flowRun(r.id, "update");
        held.resolve();
        await eventually(someoneWaits, "the second transaction waits for the lock");
        await other.store.lock.flowRun(r.id, "update"); // not in a transaction of `other`: returns at once
        order.push("first commits");
      });
      await held.promise;
      const second = other.store.transaction(async () => {
        await other.store.lock.flowRun(r.id, "update");
        order.push("second locked");
      });
      await Promise.all([first, second]);
      expect(order).toEqual(["first commits", "second locked"]);
    });

    test("FOR SHARE does not block FOR SHARE; it blocks FOR UPDATE (flow and flow group too)", async () => {
      const { group: g, flow: f } = await registered();
      const sharedByBoth = signal();
      const order: string[] = [];
      const first = store.transaction(async () => {
        await store.lock.flow(f.id, "share");
        await store.lock.flowGroup(g.id);
        await sharedByBoth.promise;
        await eventually(someoneWaits, "the updater waits");
        order.push("first commits");
      });
      await other.store.transaction(async () => {
        await other.store.lock.flow(f.id, "share");
        order.push("second shared");
      });
      sharedByBoth.resolve();
      const updater = other.store.transaction(async () => {
        await other.store.lock.flow(f.id, "update");
        order.push("updater locked");
      });
      await Promise.all([first, updater]);
      expect(order).toEqual(["second shared", "first commits", "updater locked"]);
    });

    test("SKIP LOCKED claims from 2 pools × 2 claimers over 200 due runs: each taken once, no rollbacks", async () => {
      await raw`DELETE FROM flow_run`; // other tests' runs would be due too
      const { flow: f } = await registered();
      const label = `claim-${newId()}`;
      const runs = Array.from({ length: 200 }, (_, i) =>
        run(f.id, { labels: [label] }, write("Scheduled", NOW, { startTime: new Date(Date.parse(NOW) - i * 1000).toISOString() })),
      );
      await store.transaction(async () => {
        for (const r of runs) await store.flowRuns.insert(r, NOW);
      });
      const taken = new Map<string, number>();
      let rollbacks = 0;
      const claimer = async (s: Store) => {
        for (;;) {
          try {
            const claimed = await s.transaction(async () => {
              const due = await s.flowRuns.queue({ before: LATER, labels: [label], limit: 7, includeRunning: false, claim: true });
              for (const r of due) await s.flowRuns.writeState(r.id, r.version, write("Submitted", LATER));
              return due.map((r) => r.id);
            });
            if (!claimed.length) return;
            for (const id of claimed) taken.set(id, (taken.get(id) ?? 0) + 1);
          } catch {
            rollbacks++;
          }
        }
      };
      await Promise.all([claimer(store), claimer(store), claimer(other.store), claimer(other.store)]);
      expect(rollbacks).toBe(0);
      expect(taken.size).toBe(200);
      expect([...taken.values()].every((n) => n === 1)).toBe(true);
      const [left] = await raw`SELECT count(*)::int AS n FROM flow_run WHERE labels @> ${JSON.stringify([label])}::jsonb AND state <> 'Submitted'`;
      expect(left.n).toBe(0);
    });

    test("the claim reads the flow_run_due index in order (no sort of the backlog)", async () => {
      const session = await raw.reserve();
      try {
        // The tables are tiny here: forbid the sequential scan that would win on them.
        await session`SET enable_seqscan = off`;
        await session`SET enable_bitmapscan = off`;
        const [row] = await session.unsafe(`EXPLAIN (FORMAT JSON) ${CLAIM_QUEUE_SQL} FOR UPDATE OF fr SKIP LOCKED`, [LATER, "[]", 10]);
        const plan = JSON.stringify(row["QUERY PLAN"]);
        expect(plan).toContain('"Index Name":"flow_run_due"');
        expect(plan).not.toContain('"Node Type":"Sort"');
      } finally {
        session.release();
      }
    });
  });

  describe("events", () => {
    test("delivered on commit to every client's subscribers, never on rollback; onReady at subscribe", async () => {
      const seen: { here: RunsChanged[]; there: RunsChanged[] } = { here: [], there: [] };
      const ready = { here: signal(), there: signal() };
      const offHere = store.events.subscribe((h) => seen.here.push(h), () => ready.here.resolve());
      const offThere = other.store.events.subscribe((h) => seen.there.push(h), () => ready.there.resolve());
      try {
        await Promise.all([ready.here.promise, ready.there.promise]);
        await store
          .transaction(async () => {
            await store.events.runsChanged({ at: NOW, labels: ["rolled-back"] });
            throw new Error("roll back");
          })
          .catch(() => {});
        const marker = { at: NOW, labels: ["marker"] };
        await store.transaction(async () => {
          await store.events.runsChanged({ at: LATER, labels: ["committed"] });
          // sent outside this transaction (another client), while it is still open
          await other.store.events.runsChanged(marker);
          await eventually(() => seen.there.some((h) => h.labels[0] === "marker"), "the marker arrives");
          expect(seen.there.some((h) => h.labels[0] === "committed")).toBe(false);
        });
        await eventually(() => seen.here.length >= 2 && seen.there.length >= 2, "the committed hint arrives");
        for (const list of [seen.here, seen.there]) expect(list).toEqual([marker, { at: LATER, labels: ["committed"] }]);
      } finally {
        offHere();
        offThere();
      }
    });

    test("a savepoint rolled back drops its hint; a late subscriber gets onReady too", async () => {
      const seen: RunsChanged[] = [];
      const ready = signal();
      const off = other.store.events.subscribe((h) => seen.push(h), () => ready.resolve());
      const late = signal();
      const offLate = other.store.events.subscribe(() => {}, () => late.resolve());
      try {
        await ready.promise;
        await late.promise;
        await store.transaction(async () => {
          await store.transaction(async () => {
            await store.events.runsChanged({ at: NOW, labels: ["inner"] });
            throw new Error("inner fails");
          }).catch(() => {});
          await store.events.runsChanged({ at: NOW, labels: ["outer"] });
        });
        await eventually(() => seen.length > 0, "the outer hint");
        expect(seen).toEqual([{ at: NOW, labels: ["outer"] }]);
      } finally {
        off();
        offLate();
      }
    });
  });

  describe("a lost LISTEN connection", () => {
    test("comes back by itself: onReady runs again (for catch-up) and hints arrive again", async () => {
      let readies = 0;
      const seen: RunsChanged[] = [];
      const off = other.store.events.subscribe((h) => seen.push(h), () => readies++);
      try {
        await eventually(() => readies === 1, "the first LISTEN");
        const [killed] = await raw`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND query ILIKE 'LISTEN%'`;
        expect(killed.n).toBeGreaterThan(0);
        await eventually(() => readies === 2, "onReady after the reconnect");
        await store.events.runsChanged({ at: NOW, labels: ["after-reconnect"] });
        await eventually(() => seen.some((h) => h.labels[0] === "after-reconnect"), "a hint after the reconnect");
      } finally {
        off();
      }
    });
  });

  describe("exclusive", () => {
    test("from two clients only one runs a loop's pass at a time; other loops are free", async () => {
      const inside = signal();
      const release = signal();
      const first = store.exclusive("scheduler", async () => {
        inside.resolve();
        await release.promise;
        return "first";
      });
      await inside.promise;
      expect(await other.store.exclusive("scheduler", async () => "second")).toEqual({ ran: false });
      expect(await other.store.exclusive("lazarus", async () => "lazarus")).toEqual({ ran: true, value: "lazarus" });
      release.resolve();
      expect(await first).toEqual({ ran: true, value: "first" });
      expect(await other.store.exclusive("scheduler", async () => "second")).toEqual({ ran: true, value: "second" });
    });

    test("the pass's own transactions are its own (not the lock's)", async () => {
      const p = { id: newId(), name: `ex-${newId()}`, description: null };
      await store.exclusive("zombie-killer", async () => {
        expect(store.inTransaction()).toBe(false);
        await store.transaction(() => store.projects.insert(p, NOW));
        expect(await other.store.projects.get(p.id)).toEqual(p); // committed before the pass ends
      });
    });
  });
});
