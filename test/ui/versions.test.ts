import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { registerFlow } from "../../src/client/register.ts";
import { loadFlowsFromFile } from "../../src/loader/load.ts";
import { REPO_ROOT } from "../helpers.ts";
import { openUiFixture, type UiFixture } from "./fixtures.ts";
import { attributeValues, textOf } from "./html.ts";

let f: UiFixture;
let v2: string;
let runV1: string;
let runV2: string;

beforeAll(async () => {
  f = await openUiFixture();
  runV1 = await f.executeRun(f.mapReduceId, { n: 2 });
  const mapReduce = (await loadFlowsFromFile(join(REPO_ROOT, "flows/map_reduce.ts"))).flows[0]!;
  v2 = (await registerFlow(f.client, mapReduce, "default", { force: true })).id;
  runV2 = (await f.backend.services.createFlowRun({ flowId: v2 })).id;
});
afterAll(() => f.close());

describe("a flow with two versions", () => {
  test("the flows page lists its newest version once, with the version count and the runs of both", async () => {
    const page = await (await f.request("/")).text();
    const row = /<tr data-flow="map-reduce">[\s\S]*?<\/tr>/.exec(page)![0];
    expect(row).toContain(`href="/flow/${v2}"`);
    expect(textOf(row)).toContain("2 (2 versions)");
    expect(attributeValues(row, 'a href="/flow-run/[^"]+" class="dot', "href")).toEqual([`/flow-run/${runV1}`, `/flow-run/${runV2}`]);
    expect(page.match(/<tr data-flow="map-reduce">/g)).toHaveLength(1);
  });

  test("the old version's page says archived, links the live one and offers no Run form", async () => {
    const text = textOf(await (await f.request(`/flow/${f.mapReduceId}`)).text());
    expect(text).toContain("Flow map-reduce version 1");
    expect(text).toContain("Status archived");
    expect(text).toContain("This version is archived and takes no new runs");
    expect(text).toContain("2 runs of every version");
    const page = await (await f.request(`/flow/${f.mapReduceId}`)).text();
    expect(page).toContain(`<a href="/flow/${v2}">2</a>`);
    expect(page).not.toContain('id="run-form"');
  });

  test("a run of the archived version is refused with its reason", async () => {
    const res = await f.post(`/flow/${f.mapReduceId}/run`, { parameters: "{}" });
    expect(res.status).toBe(422);
    expect(textOf(await res.text())).toContain(`Flow ${f.mapReduceId} is archived: archived flows refuse new runs (run its newest version)`);
  });
});
