/**
 * The Store contract: the same repository and transaction cases on every store (SQLite, and
 * PostgreSQL when it is installed). Dialect-specific cases stay in store.test.ts (SQLite) and
 * postgres/store.test.ts (PostgreSQL: pools, locks, NOTIFY, advisory locks).
 */
import { expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { openTestBackend, rows } from "../services/fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
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
