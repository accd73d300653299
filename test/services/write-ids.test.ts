import { describe, expect, test } from "bun:test";
import { openTestBackend, registerFlow, row, rows } from "./fixtures.ts";

const code = (c: string) => expect.objectContaining({ code: c });
const WRITE_1 = "0192f000-0000-7000-8000-000000000001";
const WRITE_2 = "0192f000-0000-7000-8000-000000000002";

function setup() {
  const b = openTestBackend();
  const flowId = registerFlow(b, { tasks: ["a-1", "b-1"] }).id;
  const runId = b.services.createFlowRun({ flowId }).id;
  b.services.setFlowRunStates([{ flowRunId: runId, version: 1, state: { type: "Running" } }]);
  const [a, other] = rows(b.db, "SELECT id FROM task_run WHERE flow_run_id = $id ORDER BY task_slug", { id: runId }).map((r) => r.id as string);
  return { b, runId, a: a!, other: other! };
}

describe("a state write carrying its writer's id", () => {
  test("sent twice (its answer was lost) is made once, and the retry returns the version it made", () => {
    const { b, a } = setup();
    const write = { taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 };
    expect(b.services.setTaskRunStates([write])[0]!.version).toBe(2);
    // The same write again, over the version it read then: not a VersionConflict, nothing new.
    expect(b.services.setTaskRunStates([write])[0]).toMatchObject({ status: "SUCCESS", version: 2 });
    expect(rows(b.db, "SELECT state, version FROM task_run_state WHERE task_run_id = $id ORDER BY version", { id: a })).toEqual([
      { state: "Pending", version: 1 },
      { state: "Running", version: 2 },
    ]);
    expect(row(b.db, "SELECT version FROM task_run WHERE id = $id", { id: a }).version).toBe(2);
  });

  test("a retried batch whose first try was stored does not move the run on: the next write goes over the stored version", () => {
    const { b, a } = setup();
    const batch = [
      { taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 },
      { taskRunId: a, version: 2, state: { type: "Success" }, writeId: WRITE_2 },
    ];
    b.services.setTaskRunStates(batch);
    expect(b.services.setTaskRunStates(batch).map((r) => r.version)).toEqual([2, 3]);
    expect(row(b.db, "SELECT state, version FROM task_run WHERE id = $id", { id: a })).toEqual({ state: "Success", version: 3 });
  });

  test("a new write over a stale version is still a VersionConflict", () => {
    const { b, a } = setup();
    b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 }]);
    expect(() => b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Success" }, writeId: WRITE_2 }])).toThrow(code("VersionConflict"));
  });

  test("an id another run's write has is refused, naming the field; an id that is no UUID too", () => {
    const { b, a, other } = setup();
    b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" }, writeId: WRITE_1 }]);
    expect(() => b.services.setTaskRunStates([{ taskRunId: other, version: 1, state: { type: "Running" }, writeId: WRITE_1 }])).toThrow(
      /write id .* was already used for another task run/,
    );
    expect(() => b.services.setTaskRunStates([{ taskRunId: other, version: 1, state: { type: "Running" }, writeId: "nope" }])).toThrow(
      /states\[0\]\.write_id must be a UUID/,
    );
    expect(() =>
      b.services.setTaskRunStates([
        { taskRunId: other, version: 1, state: { type: "Running" }, writeId: WRITE_2 },
        { taskRunId: other, version: 2, state: { type: "Success" }, writeId: WRITE_2 },
      ]),
    ).toThrow(/used twice in this batch/);
  });

  test("a flow-run state write sent twice is made once and returns the version it made", () => {
    const { b, runId } = setup();
    const write = { flowRunId: runId, version: 2, state: { type: "Success" }, writeId: WRITE_1 };
    expect(b.services.setFlowRunStates([write])[0]!.version).toBe(3);
    expect(b.services.setFlowRunStates([write])[0]).toMatchObject({ status: "SUCCESS", version: 3 });
    expect(row(b.db, "SELECT COUNT(*) AS n FROM flow_run_state WHERE flow_run_id = $id", { id: runId }).n).toBe(3);
  });

  test("without an id a write behaves as before: the same write twice is a VersionConflict", () => {
    const { b, a } = setup();
    b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" } }]);
    expect(() => b.services.setTaskRunStates([{ taskRunId: a, version: 1, state: { type: "Running" } }])).toThrow(code("VersionConflict"));
  });
});

describe("a log line carrying its writer's id", () => {
  test("sent twice is stored once; lines without an id are all stored", () => {
    const { b, runId } = setup();
    const line = { flow_run_id: runId, message: "hello", write_id: WRITE_1 };
    expect(b.services.writeRunLogs([line, { flow_run_id: runId, message: "no id" }])).toEqual({ written: 2, skipped: 0 });
    expect(b.services.writeRunLogs([line, { flow_run_id: runId, message: "no id" }])).toMatchObject({ written: 1, skipped: 1 });
    expect(rows(b.db, "SELECT message FROM log WHERE flow_run_id = $id ORDER BY message", { id: runId }).map((r) => r.message)).toEqual([
      "hello",
      "no id",
      "no id",
    ]);
    expect(row(b.db, "SELECT id FROM log WHERE message = 'hello'").id).toBe(WRITE_1);
  });

  test("a line whose id is no UUID is skipped, as other invalid lines are", () => {
    const { b, runId } = setup();
    expect(b.services.writeRunLogs([{ flow_run_id: runId, message: "x", write_id: "not-a-uuid" }])).toMatchObject({ written: 0, skipped: 1, problems: ["logs[0]: write_id must be a UUID"] });
  });
});
