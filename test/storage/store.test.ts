import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { createSqliteStore } from "../../src/storage/sqlite/store.ts";
import { openTestBackend, rows } from "../services/fixtures.ts";

describe("store", () => {
  test("the store of a database is built once, so its prepared statements are reused", () => {
    const db = openDatabase(":memory:");
    expect(createSqliteStore(db)).toBe(createSqliteStore(db));
    db.close();
  });

  test("a state write with a stale version is a VersionConflict and leaves no history row", async () => {
    const b = await openTestBackend();
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
    const b = await openTestBackend();
    const store = b.store;
    await expect(
      store.transaction(async () => {
        await store.projects.insert({ id: randomUUID(), name: "rolled-back", description: null }, b.clock.iso());
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await store.projects.findByName("rolled-back")).toBeUndefined();
  });
});
