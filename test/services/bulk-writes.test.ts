/**
 * Bulk work commits in slices (src/services/chunks.ts) so that no transaction holds the write
 * lock for long — and the sliced paths leave the same result as one transaction did; inside a
 * caller's transaction (a mutation document) everything stays all or nothing.
 */
import { describe, expect, test } from "bun:test";
import { inTransactions } from "../../src/services/chunks.ts";
import type { Store } from "../../src/storage/store.ts";
import { openTestBackend, registerFlow, row, times } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  /** A store that records the transactions it was asked for (and whether one was open). */
  function recordingStore(open: boolean): { store: Store; transactions: number[][] } {
    const transactions: number[][] = [];
    const store = {
      inTransaction: () => open,
      transaction<T>(fn: () => Promise<T>): Promise<T> {
        transactions.push([]);
        return fn();
      },
    } as unknown as Store;
    return { store, transactions };
  }

  describe("inTransactions", () => {
    test("splits work into transactions of `size` items when none is open", async () => {
      const { store, transactions } = recordingStore(false);
      await inTransactions(store, [1, 2, 3, 4, 5, 6, 7], 3, async (slice) => void transactions.at(-1)!.push(...slice));
      expect(transactions).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    });

    test("inside a caller's transaction, does everything in it", async () => {
      const { store, transactions } = recordingStore(true);
      await inTransactions(store, [1, 2, 3, 4, 5, 6, 7], 3, async (slice) => void transactions.at(-1)!.push(...slice));
      expect(transactions).toEqual([[1, 2, 3, 4, 5, 6, 7]]);
    });
  });

  describe("sliced bulk writes leave what one transaction would", () => {
    test("a page of 2,500 mapped children, inserted in slices, is complete, in order, and asked again creates none", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registerFlow(b, { tasks: ["m-1"] });
      const run = await b.services.createFlowRun({ flowId: flow.id });
      await b.services.getOrCreateMappedTaskRuns({ flowRunId: run.id, taskSlug: "m-1", count: 10, start: 1000 });
      const children = await b.services.getOrCreateMappedTaskRuns({ flowRunId: run.id, taskSlug: "m-1", count: 2500 });
      expect(children.map((c) => c.mapIndex)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
      expect(new Set(children.map((c) => c.id)).size).toBe(2500);
      const again = await b.services.getOrCreateMappedTaskRuns({ flowRunId: run.id, taskSlug: "m-1", count: 2500 });
      expect(again.map((c) => c.id)).toEqual(children.map((c) => c.id));
      expect((await row(b, "SELECT count(*) AS n FROM task_run_state WHERE task_run_id IN (SELECT id FROM task_run WHERE flow_run_id = $id AND map_index >= 0)", { id: run.id })).n).toBe(2500);
    });

    test("inside a caller's transaction, mapped children are all or nothing", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registerFlow(b, { tasks: ["m-1"] });
      const run = await b.services.createFlowRun({ flowId: flow.id });
      await expect(
        b.store.transaction(async () => {
          await b.services.getOrCreateMappedTaskRuns({ flowRunId: run.id, taskSlug: "m-1", count: 2500 });
          throw new Error("a later field of the document failed");
        }),
      ).rejects.toThrow("a later field");
      expect((await row(b, "SELECT count(*) AS n FROM task_run WHERE flow_run_id = $id AND map_index >= 0", { id: run.id })).n).toBe(0);
    });

    test("deleting a flow with 250 runs (more than a slice) deletes every run, its task runs, and the flow", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registerFlow(b, { tasks: ["a-1", "b-1"] });
      for (let i = 0; i < 250; i++) await b.services.createFlowRun({ flowId: flow.id });
      await b.services.deleteFlow(flow.id);
      expect((await row(b, "SELECT count(*) AS n FROM flow_run")).n).toBe(0);
      expect((await row(b, "SELECT count(*) AS n FROM task_run")).n).toBe(0);
      expect((await row(b, "SELECT count(*) AS n FROM flow WHERE id = $id", { id: flow.id })).n).toBe(0);
      await expect(b.services.deleteFlow(flow.id)).rejects.toThrow(`Flow ${flow.id} not found`);
    });

    test("archiving a flow with 250 ad-hoc Scheduled runs cancels each; a run taken meanwhile is left alone", async () => {
      const b = await openTestBackend({ kind });
      const flow = await registerFlow(b);
      const runs = await times(250, async () => (await b.services.createFlowRun({ flowId: flow.id })).id);
      await b.services.setFlowRunStates([{ flowRunId: runs[0]!, version: 1, state: { type: "Submitted" } }]);
      await b.services.archiveFlow(flow.id);
      expect((await row(b, "SELECT archived FROM flow WHERE id = $id", { id: flow.id })).archived).toBe(1);
      expect((await row(b, "SELECT count(*) AS n FROM flow_run WHERE state = 'Cancelled'")).n).toBe(249);
      expect((await row(b, "SELECT state FROM flow_run WHERE id = $id", { id: runs[0]! })).state).toBe("Submitted");
      expect((await row(b, "SELECT state_message FROM flow_run WHERE id = $id", { id: runs[1]! })).state_message).toBe(`Flow ${flow.id} was archived.`);
    });
  });
});
