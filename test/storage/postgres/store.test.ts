/**
 * The PostgreSQL Store's own cases, against a migrated database of its own: opening, and the
 * concurrency rules across separate clients (pools): serialization and deadlock retries, a lost
 * connection, row locks, SKIP LOCKED claims, NOTIFY on commit only (and a lost LISTEN connection),
 * and exclusive loop passes. The repository cases every store passes are in ../store-contract.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { newId } from "../../../src/services/ids.ts";
import type { Storage } from "../../../src/storage/open.ts";
import { CLAIM_QUEUE_SQL } from "../../../src/storage/postgres/flow-runs.ts";
import { openPostgresStorage } from "../../../src/storage/postgres/store.ts";
import type { FlowGroupRecord, NewFlow, RunsChanged, Store } from "../../../src/storage/store.ts";
import { describePostgres, postgresDatabase, type TestDatabase } from "../../postgres.ts";
import { eventually, flow, group, LATER, NOW, run, signal, task, write } from "../store-records.ts";

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

  // Two pools of one process race here; SQLite's writers are one process's write queue (the
  // cross-process races on both stores are test/services/races.test.ts).
  describe("two clients racing", () => {
    test("concurrent insertIfAbsent of one name from two clients: one project", async () => {
      const name = `race-${newId()}`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? other : storage).store.transaction(() => (i % 2 ? other : storage).store.projects.insertIfAbsent({ id: newId(), name, description: null }, NOW)),
        ),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
    });

    test("flowRuns.insertIfAbsent of one idempotency key from two clients: one run", async () => {
      const { flow: f } = await registered();
      const racers = Array.from({ length: 6 }, (_, i) => {
        const s = i % 2 ? other.store : store;
        return s.transaction(() => s.flowRuns.insertIfAbsent(run(f.id, { idempotencyKey: "race" }), NOW));
      });
      const results = await Promise.all(racers);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
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

    test("agents.register of one identity from two clients: one agent", async () => {
      const name = `racing-${newId()}`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => {
          const s = i % 2 ? other.store : store;
          return s.transaction(() => s.agents.register({ id: newId(), name, type: "local", coreVersion: null, labels: [], lastQueried: null, agentConfigId: null }, NOW));
        }),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
    });
  });

  describe("transactions", () => {
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
        const [row] = await session.unsafe(`EXPLAIN (FORMAT JSON) ${CLAIM_QUEUE_SQL} FOR UPDATE OF fr SKIP LOCKED`, [LATER, "[]", 10, "any"]);
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
