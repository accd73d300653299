import { describe, expect, test } from "bun:test";
import { ganttRows, MAX_CHILDREN } from "../../src/ui/gantt.tsx";

const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 12, 0, s)).toISOString();
const run = (slug: string, mapIndex: number, state: string, start?: number, end?: number) => ({
  task_slug: slug,
  map_index: mapIndex,
  state,
  start_time: start === undefined ? null : at(start),
  end_time: end === undefined ? null : at(end),
});

describe("the Gantt chart's rows", () => {
  test("tasks come in start order, unstarted ones last", () => {
    const rows = ganttRows([run("c-1", -1, "Pending"), run("b-1", -1, "Success", 5, 6), run("a-1", -1, "Success", 1, 2)], new Date(at(10)));
    expect(rows.map((r) => r.slug)).toEqual(["a-1", "b-1", "c-1"]);
    expect(rows[2]!.span).toEqual({ start: undefined, end: undefined });
  });

  test("a running task's bar reaches now", () => {
    const now = new Date(at(30));
    const [row] = ganttRows([run("slow-1", -1, "Running", 10)], now);
    expect(row!.span).toEqual({ start: Date.parse(at(10)), end: now.getTime() });
  });

  test("a mapped task is a group spanning its children, which follow it in index order", () => {
    const rows = ganttRows(
      [run("sq-1", 1, "Success", 3, 8), run("sq-1", -1, "Mapped", undefined, 2), run("sq-1", 0, "Failed", 2, 4), run("total-1", -1, "Pending")],
      new Date(at(9)),
    );
    expect(rows.map((r) => [r.kind, r.label, r.state])).toEqual([
      ["task", "sq-1 (2 mapped)", "Mapped"],
      ["child", "[0]", "Failed"],
      ["child", "[1]", "Success"],
      ["task", "total-1", "Pending"],
    ]);
    expect(rows[0]!.span).toEqual({ start: Date.parse(at(2)), end: Date.parse(at(8)) });
  });

  test("past MAX_CHILDREN children, the rest are counted in one row", () => {
    const children = Array.from({ length: MAX_CHILDREN + 5 }, (_, i) => run("m-1", i, "Success", 1, 2));
    const rows = ganttRows([run("m-1", -1, "Mapped"), ...children], new Date(at(3)));
    expect(rows.filter((r) => r.kind === "child")).toHaveLength(MAX_CHILDREN);
    expect(rows.at(-1)).toMatchObject({ kind: "more", label: "… 5 more", hidden: 5 });
  });
});
