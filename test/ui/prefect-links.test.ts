import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openUiFixture, type UiFixture } from "./fixtures.ts";

// Prefect 1's `Client.get_cloud_url(subdirectory, id)` builds <ui endpoint>/<tenant slug>/<subdirectory>/<id>;
// pointed at serve, those links open prefectlite's pages.

let f: UiFixture;
let runId: string;

beforeAll(async () => {
  f = await openUiFixture();
  runId = await f.executeRun(f.helloId, { name: "marvin" });
});
afterAll(() => f.close());

describe("Prefect's UI links (/default/<page>/<id>)", () => {
  test("a flow run's and a flow's link open their pages", async () => {
    const run = await f.request(`/default/flow-run/${runId}`);
    expect(run.status).toBe(302);
    expect(run.headers.get("location")).toBe(`/flow-run/${runId}`);
    const flow = await f.request(`/default/flow/${f.helloId}`);
    expect(flow.headers.get("location")).toBe(`/flow/${f.helloId}`);
  });

  test("a task run's link opens its flow run's page", async () => {
    const taskRun = await f.one<{ id: string }>("SELECT id FROM task_run WHERE flow_run_id = ?", runId);
    const res = await f.request(`/default/task-run/${taskRun.id}`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/flow-run/${runId}`);
  });

  test("an unknown task run, a malformed id or another page is a 404 page", async () => {
    for (const path of ["/default/task-run/00000000-0000-4000-8000-00000000abcd", "/default/task-run/nope", "/default/secrets/x"]) {
      const res = await f.request(path);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("text/html");
    }
  });
});
