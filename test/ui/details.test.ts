import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parameterRows } from "../../src/ui/pages/flow.tsx";
import { STYLES } from "../../src/ui/styles.ts";
import { openUiFixture, type UiFixture } from "./fixtures.ts";

let f: UiFixture;
beforeAll(async () => {
  f = await openUiFixture();
});
afterAll(() => f.close());

describe("the Run form's parameters box", () => {
  test("is as tall as its JSON plus a spare line, between 2 and 20 lines", () => {
    expect(parameterRows("{}")).toBe(2);
    expect(parameterRows('{\n  "n": 5\n}')).toBe(4);
    expect(parameterRows(Array.from({ length: 40 }, () => "x").join("\n"))).toBe(20);
  });

  test("is rendered with those rows for the flow's defaults", async () => {
    const html = await (await f.request(`/flow/${f.mapReduceId}`)).text();
    const textarea = /<textarea[^>]*id="run-parameters"[^>]*>([\s\S]*?)<\/textarea>/.exec(html)!;
    const rows = Number(/rows="(\d+)"/.exec(textarea[0])![1]);
    expect(rows).toBe(parameterRows(textarea[1]!.replace(/&quot;/g, '"')));
  });
});

describe("times", () => {
  test("never wrap (a date and its time stay on one line in the runs list)", async () => {
    expect(STYLES).toMatch(/(^|\n)time \{ white-space:nowrap; \}/);
    await f.executeRun(f.helloId);
    expect(await (await f.request("/flow-runs")).text()).toMatch(/<td><time datetime="[^"]+">/);
  });
});
