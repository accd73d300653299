import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { openDatabase } from "../../src/storage/db.ts";
import { createSqliteStore } from "../../src/storage/store.ts";
import { openTestBackend, rows } from "../services/fixtures.ts";

describe("store", () => {
  test("the store of a database is built once, so its prepared statements are reused", () => {
    const db = openDatabase(":memory:");
    expect(createSqliteStore(db)).toBe(createSqliteStore(db));
  });

  test("a state write with a stale version is a VersionConflict and leaves no history row", () => {
    const b = openTestBackend();
    const flowId = b.services.createFlow({
      serializedFlow: { name: "f", tasks: [], edges: [], parameters: [] },
      projectId: b.projectId,
    }).id;
    const runId = b.services.createFlowRun({ flowId }).id;
    const store = createSqliteStore(b.db);
    const write = {
      id: randomUUID(),
      state: { type: "Running" as const, message: "", timestamp: b.clock.iso() },
      markStarted: true,
      markEnded: false,
      heartbeat: null,
    };
    expect(() => store.transaction(() => store.flowRuns.writeState(runId, 7, write))).toThrow(
      expect.objectContaining({ code: "VersionConflict" }),
    );
    expect(rows(b.db, "SELECT state FROM flow_run_state WHERE flow_run_id = $id", { id: runId })).toEqual([{ state: "Scheduled" }]);
    expect(store.transaction(() => store.flowRuns.writeState(runId, 1, write))).toBe(2);
  });

  test("a throw inside a transaction rolls back every write in it", () => {
    const b = openTestBackend();
    const store = createSqliteStore(b.db);
    expect(() =>
      store.transaction(() => {
        store.projects.insert({ id: randomUUID(), name: "rolled-back", description: null }, b.clock.iso());
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(store.projects.findByName("rolled-back")).toBeUndefined();
  });
});
