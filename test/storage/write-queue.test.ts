import { afterEach, describe, expect, test } from "bun:test";
import { openTestStorage, type TestStorage } from "../storage-helpers.ts";

let t: TestStorage | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const project = (name: string) => ({ id: crypto.randomUUID(), name, description: null });

describe("the SQLite write queue", () => {
  test("a transaction settles within its turn of the event loop", async () => {
    t = await openTestStorage();
    const { store } = t;
    let fired = false;
    const result = await store.transaction(async () => {
      // Scheduled when the transaction's closure starts: it must not have run when it resolves.
      setImmediate(() => (fired = true));
      await store.projects.insert(project("a"), new Date().toISOString());
      const found = await store.projects.findByName("a");
      return found?.name;
    });
    expect(result).toBe("a");
    expect(fired).toBe(false);
  });

  test("a closure awaiting real I/O is abandoned: its writes roll back, its later calls are refused, the others commit", async () => {
    t = await openTestStorage();
    const { store } = t;
    let later: unknown = "not called";
    let finished!: () => void;
    const closureDone = new Promise<void>((resolve) => (finished = resolve));
    const slow = store.transaction(async () => {
      await store.projects.insert(project("slow"), new Date().toISOString());
      await new Promise((resolve) => setTimeout(resolve, 200)); // well after the end-of-turn check, however busy the machine
      try {
        await store.projects.insert(project("after-io"), new Date().toISOString());
        later = `inserted (inTransaction ${store.inTransaction()})`;
      } catch (e) {
        later = e;
      }
      finished();
    });
    const fast = store.transaction(() => store.projects.insert(project("fast"), new Date().toISOString()));
    await expect(slow).rejects.toThrow("must settle within its turn of the event loop");
    await fast;
    await closureDone;
    expect(String(later)).toContain("must settle within its turn");
    const names = (await t.sql<{ name: string }>("SELECT name FROM project ORDER BY name")).map((r) => r.name);
    expect(names).toEqual(["fast"]);
  });

  test("an abandoned closure's nested transaction is refused too (it never writes outside the transaction)", async () => {
    t = await openTestStorage();
    const { store } = t;
    let later: unknown = "not called";
    let finished!: () => void;
    const closureDone = new Promise<void>((resolve) => (finished = resolve));
    const slow = store.transaction(() =>
      store.transaction(async () => {
        await store.projects.insert(project("slow"), new Date().toISOString());
        await new Promise((resolve) => setTimeout(resolve, 200)); // well after the end-of-turn check, however busy the machine
        try {
          await store.projects.insert(project("after-io"), new Date().toISOString());
          later = "inserted";
        } catch (e) {
          later = e;
        }
        finished();
      }),
    );
    const fast = store.transaction(() => store.projects.insert(project("fast"), new Date().toISOString()));
    await expect(slow).rejects.toThrow("must settle within its turn of the event loop");
    await fast;
    await closureDone;
    expect(String(later)).toContain("must settle within its turn");
    await expect(store.transaction(() => store.projects.findByName("fast"))).resolves.toMatchObject({ name: "fast" });
    const names = (await t.sql<{ name: string }>("SELECT name FROM project ORDER BY name")).map((r) => r.name);
    expect(names).toEqual(["fast"]);
  });

  test("writes that arrive together share a commit, each in its own savepoint", async () => {
    t = await openTestStorage();
    const { store } = t;
    const now = new Date().toISOString();
    const results = await Promise.allSettled([
      store.transaction(() => store.projects.insert(project("one"), now)),
      store.transaction(async () => {
        await store.projects.insert(project("two"), now);
        throw new Error("refused");
      }),
      store.transaction(() => store.projects.insert(project("three"), now)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const names = (await t.sql<{ name: string }>("SELECT name FROM project ORDER BY name")).map((r) => r.name);
    expect(names).toEqual(["one", "three"]);
  });

  test("a nested transaction is a savepoint: its failure, caught, rolls back alone", async () => {
    t = await openTestStorage();
    const { store } = t;
    const now = new Date().toISOString();
    await store.transaction(async () => {
      await store.projects.insert(project("outer"), now);
      expect(store.inTransaction()).toBe(true);
      await expect(
        store.transaction(async () => {
          await store.projects.insert(project("inner"), now);
          throw new Error("inner fails");
        }),
      ).rejects.toThrow("inner fails");
    });
    const names = (await t.sql<{ name: string }>("SELECT name FROM project ORDER BY name")).map((r) => r.name);
    expect(names).toEqual(["outer"]);
    expect(store.inTransaction()).toBe(false);
  });

  test("runsChanged reaches subscribers after the commit, never on rollback", async () => {
    t = await openTestStorage();
    const { store } = t;
    const heard: string[] = [];
    let readyCalls = 0;
    const unsubscribe = store.events.subscribe((hint) => heard.push(hint.at), () => readyCalls++);
    expect(readyCalls).toBe(1);
    await store.transaction(async () => {
      await store.events.runsChanged({ at: "committed", labels: [] });
      expect(heard).toEqual([]);
    });
    await expect(
      store.transaction(async () => {
        await store.events.runsChanged({ at: "rolled-back", labels: [] });
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    expect(heard).toEqual(["committed"]);
    unsubscribe();
  });

  test("a concurrent duplicate project name is one insert (insertIfAbsent)", async () => {
    t = await openTestStorage();
    const { store } = t;
    const now = new Date().toISOString();
    const [a, b] = await Promise.all([
      store.transaction(() => store.projects.insertIfAbsent(project("same"), now)),
      store.transaction(() => store.projects.insertIfAbsent(project("same"), now)),
    ]);
    expect(a.id).toBe(b.id);
  });
});
