import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServices } from "../../src/services/index.ts";
import { PAGE_SIZE, parseRunFilters } from "../../src/ui/runs-data.ts";
import { openUiFixture, type UiFixture } from "./fixtures.ts";
import { attributeValues, textOf } from "./html.ts";

let f: UiFixture;
const created: string[] = [];
let helloGroup: string;

beforeAll(async () => {
  f = await openUiFixture();
  // A clock a minute apart per run, so "newest first" is one order (2024-01-01 00:00, 00:01, …).
  let minute = 0;
  const services = createServices(f.backend.storage.store, { now: () => new Date(Date.UTC(2024, 0, 1, 0, minute)) });
  // 30 hello-world runs (every third labelled "etl", every fifth cancelled) and 2 map-reduce runs.
  for (let i = 0; i < 30; i++) {
    const { id } = await services.createFlowRun({ flowId: f.helloId, flowRunName: `hello-${i}`, labels: i % 3 === 0 ? ["etl"] : [] });
    if (i % 5 === 0) await services.cancelFlowRun(id);
    created.push(id);
    minute++;
  }
  for (let i = 0; i < 2; i++, minute++) await services.createFlowRun({ flowId: f.mapReduceId, flowRunName: `map-${i}` });
  helloGroup = (await f.one<{ g: string }>("SELECT version_group_id AS g FROM flow WHERE id = ?", f.helloId)).g;
});
afterAll(() => f.close());

async function list(query: string): Promise<{ names: string[]; text: string; page: string }> {
  const res = await f.request(`/flow-runs${query}`);
  expect(res.status).toBe(200);
  const page = await res.text();
  const names = [...page.matchAll(/<a href="\/flow-run\/[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]!);
  return { names, text: textOf(page), page };
}

describe("the flow runs page (/flow-runs)", () => {
  test("shows the newest runs first, a page at a time", async () => {
    const first = await list("");
    expect(first.names).toHaveLength(PAGE_SIZE);
    expect(first.names.slice(0, 3)).toEqual(["map-1", "map-0", "hello-29"]);
    expect(first.text).toContain("32 runs, page 1 of 2");
    expect(first.page).toContain('rel="next"');
    const second = await list("?page=2");
    expect(second.names).toEqual(["hello-6", "hello-5", "hello-4", "hello-3", "hello-2", "hello-1", "hello-0"]);
    expect(second.page).toContain('href="/flow-runs?page=1" rel="prev"');
  });

  test("filters by flow, state and label, and keeps the filters when paging", async () => {
    const byFlow = await list(`?flow=${helloGroup}`);
    expect(byFlow.text).toContain("30 runs, page 1 of 2");
    expect(byFlow.names.every((n) => n.startsWith("hello-"))).toBe(true);
    expect(byFlow.page).toContain(`href="/flow-runs?flow=${helloGroup}&amp;page=2" rel="next"`);
    const cancelled = await list("?state=Cancelled");
    expect(cancelled.names).toEqual(["hello-25", "hello-20", "hello-15", "hello-10", "hello-5", "hello-0"]);
    expect(attributeValues(cancelled.page, "span class=\"badge[^\"]*\"", "data-state").every((s) => s === "Cancelled")).toBe(true);
    const etl = await list("?label=etl&state=Cancelled");
    expect(etl.names).toEqual(["hello-15", "hello-0"]);
  });

  test("filters by creation time", async () => {
    const local = (minutes: number) => {
      const d = new Date(Date.UTC(2024, 0, 1, 0, minutes));
      const p = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    // The form's datetime-local values are the visitor's local time.
    expect((await list(`?from=${local(0)}&to=${local(2)}`)).names).toEqual(["hello-2", "hello-1", "hello-0"]);
    expect((await list(`?from=${local(30)}`)).names).toEqual(["map-1", "map-0"]);
    const future = await list("?from=2999-01-01T00:00");
    expect(future.names).toEqual([]);
    expect(future.text).toContain("No runs match.");
    expect((await list("?to=2000-01-01T00:00")).text).toContain("0 runs");
  });

  test("malformed filters are ignored and named, never a crash", async () => {
    const res = await list("?state=Sleeping&from=yesterday&page=-3");
    expect(res.text).toContain("Ignored: unknown state 'Sleeping'; 'yesterday' is not a time");
    expect(res.text).toContain("32 runs, page 1 of 2");
    expect((await list("?flow=not-a-group")).text).toContain("0 runs");
  });

  test("every filter input has a label", async () => {
    const { page } = await list("");
    for (const id of ["f-flow", "f-state", "f-label", "f-from", "f-to"]) expect(page).toContain(`<label for="${id}">`);
  });
});

describe("parseRunFilters", () => {
  test("reads the query into filters and problems", () => {
    expect(parseRunFilters({ state: "Running", label: " gpu ", page: "3" })).toEqual({
      filters: { state: "Running", label: "gpu", page: 3 },
      problems: [],
    });
  });
});
