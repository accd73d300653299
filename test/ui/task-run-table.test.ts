import { describe, expect, test } from "bun:test";
import { MAX_CHILDREN } from "../../src/ui/gantt.tsx";
import { taskRunItems } from "../../src/ui/task-run-table.tsx";

const run = (slug: string, mapIndex: number, state: string, start?: number, end?: number) => ({
  task_slug: slug,
  map_index: mapIndex,
  state,
  start_time: start === undefined ? null : new Date(Date.UTC(2024, 0, 1, 12, 0, start)).toISOString(),
  end_time: end === undefined ? null : new Date(Date.UTC(2024, 0, 1, 12, 0, end)).toISOString(),
});

describe("the task-run table", () => {
  test("folds a mapped task's children past MAX_CHILDREN into one row counting their states", () => {
    const children = Array.from({ length: MAX_CHILDREN + 3 }, (_, i) => run("m-1", i, i === MAX_CHILDREN + 2 ? "Failed" : "Success", 1, 2));
    const items = taskRunItems([run("total-1", -1, "Pending"), ...children.reverse(), run("m-1", -1, "Mapped")]);
    expect(items.filter((i) => i.kind === "run")).toHaveLength(MAX_CHILDREN + 2);
    expect(items.map((i) => (i.kind === "run" ? `${i.run.task_slug}[${i.run.map_index}]` : `more ${i.count}: ${i.states}`)).slice(0, 3)).toEqual([
      "m-1[-1]",
      "m-1[0]",
      "m-1[1]",
    ]);
    expect(items[MAX_CHILDREN + 1]).toEqual({ kind: "more", slug: "m-1", count: 3, states: "2 Success, 1 Failed" });
    expect(items.at(-1)).toMatchObject({ kind: "run", run: { task_slug: "total-1" } });
  });
});
