import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { attributeValues, elementById, textOf } from "./html.ts";
import { openUiFixture, type UiFixture } from "./fixtures.ts";

let f: UiFixture;
let helloRun: string;
let mapRun: string;

beforeAll(async () => {
  f = await openUiFixture();
  helloRun = await f.executeRun(f.helloId, { name: "marvin" });
  mapRun = await f.executeRun(f.mapReduceId, { n: 3 });
});
afterAll(() => f.close());

async function html(path: string, expectedStatus = 200): Promise<string> {
  const res = await f.request(path);
  expect(res.status).toBe(expectedStatus);
  expect(res.headers.get("content-type")).toContain("text/html");
  return res.text();
}

describe("the flows page (/)", () => {
  test("lists each project's flows with version, schedule and last runs as state dots", async () => {
    const page = await html("/");
    expect(page.startsWith("<!DOCTYPE html>")).toBe(true);
    const text = textOf(page);
    expect(text).toContain("Project default");
    for (const name of ["hello-world", "map-reduce", "hourly", "needs-param"]) expect(text).toContain(name);
    expect(page).toContain(`href="/flow/${f.helloId}"`);
    // hourly has a schedule (registered off); the others none.
    expect(attributeValues(page, "span[^>]*data-schedule", "data-schedule").sort()).toEqual(["none", "none", "none", "off"]);
    expect(text).toContain("every 1h");
    const dots = attributeValues(page, 'a href="/flow-run/[^"]+" class="dot', "data-state");
    expect(dots).toEqual(["Success", "Success"]);
    expect(page).toContain(`href="/flow-run/${helloRun}"`);
  });

  test("has one h1, a main landmark, and navigation marking the current page", async () => {
    const page = await html("/");
    expect(page.match(/<h1/g)?.length).toBe(1);
    expect(page).toContain('<main id="main">');
    expect(page).toContain('<a href="/" aria-current="page">Flows</a>');
  });
});

describe("a flow's page (/flow/<id>)", () => {
  test("shows parameters, versions, schedule, the settings switches and the Run form", async () => {
    const page = await html(`/flow/${f.helloId}`);
    const text = textOf(page);
    expect(text).toContain("Flow hello-world version 1");
    expect(elementById(page, "parameters")).toBe("Parameters");
    expect(text).toMatch(/name "world" no/);
    expect(text).toContain("Schedule: none");
    expect(attributeValues(page, "div class=\"switch\"", "data-enabled")).toEqual(["true", "true", "false"]);
    expect(text).toContain("Turn heartbeat off");
    expect(text).toContain("Turn version lock on");
    // The form starts from the defaults, every input has a label.
    expect(page).toContain('<form method="post" action="/flow/' + f.helloId + '/run"');
    expect(elementById(page, "run-parameters")).toContain("&quot;name&quot;: &quot;world&quot;");
    for (const id of ["run-parameters", "run-name", "run-labels", "run-log-level", "run-start-at"]) {
      expect(page).toContain(`<label for="${id}">`);
    }
    expect(text).toContain("Recent runs");
    expect(page).toContain(`href="/flow-run/${helloRun}"`);
  });

  test("a required parameter is marked required and left out of the form's defaults", async () => {
    const page = await html(`/flow/${f.needsParamId}`);
    expect(textOf(page)).toMatch(/count — yes/);
    expect(elementById(page, "run-parameters")).not.toContain("count");
  });

  test("an unknown flow is a 404 page", async () => {
    expect(textOf(await html("/flow/00000000-0000-0000-0000-000000000000", 404))).toContain("No flow with id");
    expect(textOf(await html("/flow/not-a-uuid", 404))).toContain("No flow with id not-a-uuid");
  });
});

describe("a flow run's page (/flow-run/<id>)", () => {
  test("shows the card, the Gantt bars of every task run, the Hello log and the state history", async () => {
    const page = await html(`/flow-run/${helloRun}`);
    const text = textOf(page);
    expect(text).toContain("Flow run");
    expect(attributeValues(page, "span class=\"badge st-success\"", "data-state")[0]).toBe("Success");
    expect(text).toContain(`hello-world (version 1)`);
    expect(text).toContain('{"name":"marvin"}');
    const bars = attributeValues(page, 'rect class="bar', "data-state");
    expect(bars).toEqual(["Success", "Success", "Success"]);
    expect(page).toContain('role="img" aria-label="Timeline of 3 task runs');
    expect(elementById(page, "run-logs")).toContain("| INFO    | Hello Marvin");
    expect(textOf(elementById(page, "run-states"))).toMatch(/Scheduled.*Running.*Success/);
    // Finished: no cancel button, no polling.
    expect(text).not.toContain("Cancel this run");
    expect(page).toContain('data-live="finished"');
  });

  test("groups a mapped task's children under it and lists result locations", async () => {
    const page = await html(`/flow-run/${mapRun}`);
    const timeline = elementById(page, "run-timeline");
    expect(attributeValues(timeline, "g data-task", "data-kind")).toEqual(["task", "task", "task", "child", "child", "child", "task"]);
    expect(textOf(timeline)).toContain("square-1 (3 mapped)");
    const rows = elementById(page, "run-task-runs");
    expect(rows).toContain(`${f.home}/results/`);
    expect(textOf(rows)).toMatch(/square-1\[2\] Success/);
  });

  test("filters logs by level", async () => {
    const all = elementById(await html(`/flow-run/${helloRun}?level=DEBUG`), "run-logs");
    expect(all).toContain("Hello Marvin");
    const errors = elementById(await html(`/flow-run/${helloRun}?level=ERROR`), "run-logs");
    expect(errors).not.toContain("Hello Marvin");
    expect(textOf(errors)).toContain("No logs yet.");
  });

  test("the live fragment carries the parts and whether the run is finished", async () => {
    const res = await f.request(`/flow-run/${helloRun}/live?level=INFO`);
    expect(res.status).toBe(200);
    const fragment = await res.text();
    expect(fragment.startsWith('<div data-finished="true">')).toBe(true);
    for (const id of ["run-card", "run-timeline", "run-task-runs", "run-logs", "run-states"]) expect(fragment).toContain(`id="${id}"`);
    expect(fragment).not.toContain("<html");
  });

  test("an unfinished run has a cancel button and polls", async () => {
    const { id } = await f.backend.services.createFlowRun({ flowId: f.helloId });
    const page = await html(`/flow-run/${id}`);
    expect(page).toContain(`action="/flow-run/${id}/cancel"`);
    expect(page).toContain(`data-live-src="/flow-run/${id}/live?level=DEBUG" data-live="on"`);
    expect(textOf(page)).toContain("Pending (not started)");
    expect((await f.request(`/flow-run/${id}/live`)).status).toBe(200);
    await f.backend.services.cancelFlowRun(id);
  });

  test("an unknown run is a 404 page", async () => {
    expect(textOf(await html("/flow-run/00000000-0000-0000-0000-000000000000", 404))).toContain("No flow run with id");
    expect((await f.request("/flow-run/00000000-0000-0000-0000-000000000000/live")).status).toBe(404);
  });
});

describe("the agents page (/agents)", () => {
  test("says how to start one when none is registered", async () => {
    expect(textOf(await html("/agents"))).toContain("No agents registered");
  });
});

describe("assets", () => {
  test("the stylesheet and script are embedded", async () => {
    const css = await f.request("/ui/app.css");
    expect(css.headers.get("content-type")).toContain("text/css");
    expect(await css.text()).toContain(".gantt");
    const js = await f.request("/ui/app.js");
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(await js.text()).toContain("data-live-src");
  });
});
