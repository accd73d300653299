import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUN_LOG_LEVEL_ENV } from "../../src/ui/run-form.ts";
import { openUiFixture, type UiFixture } from "./fixtures.ts";
import { elementById, textOf } from "./html.ts";

let f: UiFixture;
beforeAll(async () => {
  f = await openUiFixture();
});
afterAll(() => f.close());

const runsOf = (flowId: string) => f.one<{ n: number }>("SELECT count(*) AS n FROM flow_run WHERE flow_id = ?", flowId);
const flowRun = (id: string) => f.one<Record<string, string>>("SELECT * FROM flow_run WHERE id = ?", id);

describe("the Run form", () => {
  test("creates a run with the parameters, name, labels and log level, and opens its page", async () => {
    const res = await f.post(`/flow/${f.helloId}/run`, {
      parameters: '{"name": "ford"}',
      run_name: "from-the-ui",
      labels: "gpu, eu",
      log_level: "DEBUG",
      start_at: "",
    });
    expect(res.status).toBe(303);
    const id = /^\/flow-run\/([0-9a-f-]{36})$/.exec(res.headers.get("location") ?? "")![1]!;
    const run = await flowRun(id);
    expect(run.name).toBe("from-the-ui");
    expect(JSON.parse(run.parameters!)).toEqual({ name: "ford" });
    expect(JSON.parse(run.labels!)).toEqual(["eu", "gpu"]);
    expect(JSON.parse(run.run_config!).env[RUN_LOG_LEVEL_ENV]).toBe("DEBUG");
    expect(run.state).toBe("Scheduled");
    // No agent has those labels: the run's page says so.
    const page = await (await f.request(`/flow-run/${id}`)).text();
    expect(page).toContain('data-badge="no-agent"');
    expect(textOf(page)).toContain("No registered agent has the labels eu, gpu: start one with prefectlite agent start --label eu --label gpu");
  });

  test("a registered agent whose labels cover the run's removes the badge", async () => {
    const { id: agentId } = await f.backend.services.registerAgent({ type: "test", name: "covering", labels: ["eu", "gpu", "x"] });
    await f.backend.services.getRunsInQueue({ agentId, labels: ["eu", "gpu", "x"] }); // a poll: the agent is healthy
    const { id } = await f.backend.services.createFlowRun({ flowId: f.helloId, labels: ["gpu"] });
    const page = await (await f.request(`/flow-run/${id}`)).text();
    expect(page).not.toContain("data-badge=");
    const agents = await (await f.request("/agents")).text();
    expect(textOf(agents)).toMatch(/covering test eu gpu x .* healthy/);
    await f.backend.services.cancelFlowRun(id);
  });

  test("bad JSON is a form error on the page, keeps what was typed, and creates nothing", async () => {
    const before = (await runsOf(f.helloId)).n;
    const res = await f.post(`/flow/${f.helloId}/run`, { parameters: '{"name": ', run_name: "typed", labels: "", log_level: "INFO" });
    expect(res.status).toBe(422);
    const page = await res.text();
    expect(textOf(page)).toContain("Parameters are not valid JSON");
    expect(page).toContain('role="alert"');
    expect(elementById(page, "run-parameters")).toBe("{&quot;name&quot;: ");
    expect(page).toContain('value="typed"');
    expect((await runsOf(f.helloId)).n).toBe(before);
  });

  test("the default log level (INFO) leaves the run config as the flow's: no environment added", async () => {
    const res = await f.post(`/flow/${f.helloId}/run`, { parameters: "{}", log_level: "INFO" });
    const id = res.headers.get("location")!.split("/").at(-1)!;
    expect(JSON.parse((await flowRun(id)).run_config!)).toEqual({ type: "UniversalRun", env: {}, labels: [] });
    expect(textOf(await (await f.request(`/flow-run/${id}`)).text())).toContain("Log level INFO (default)");
  });

  test("a JSON value that is not an object is refused", async () => {
    const res = await f.post(`/flow/${f.helloId}/run`, { parameters: "[1, 2]" });
    expect(res.status).toBe(422);
    expect(textOf(await res.text())).toContain("Parameters must be a JSON object");
  });

  test("an unknown parameter is refused with the flow's parameters named", async () => {
    const res = await f.post(`/flow/${f.helloId}/run`, { parameters: '{"nmae": "typo"}' });
    expect(res.status).toBe(422);
    expect(textOf(await res.text())).toContain("flow 'hello-world' has no parameter 'nmae' (its parameters: name)");
  });

  test("a missing required parameter is refused", async () => {
    const before = (await runsOf(f.needsParamId)).n;
    const res = await f.post(`/flow/${f.needsParamId}/run`, { parameters: "{}" });
    expect(res.status).toBe(422);
    expect(textOf(await res.text())).toContain("flow 'needs-param' is missing required parameter 'count'");
    expect((await runsOf(f.needsParamId)).n).toBe(before);
  });

  test("a start time in the future leaves the run scheduled for then", async () => {
    const res = await f.post(`/flow/${f.helloId}/run`, { parameters: "", start_at: "2099-01-02T03:04" });
    const id = res.headers.get("location")!.split("/").at(-1)!;
    expect((await flowRun(id)).scheduled_start_time).toBe(new Date("2099-01-02T03:04").toISOString());
  });
});

describe("switches", () => {
  const settings = async () =>
    JSON.parse((await f.one<{ settings: string }>("SELECT g.settings FROM flow_group g JOIN flow f ON f.flow_group_id = g.id WHERE f.id = ?", f.mapReduceId)).settings);

  test("turn heartbeat, Lazarus and version lock off and on", async () => {
    for (const [setting, enabled] of [
      ["heartbeat_enabled", "false"],
      ["lazarus_enabled", "false"],
      ["version_locking_enabled", "true"],
    ] as const) {
      const res = await f.post(`/flow/${f.mapReduceId}/settings`, { setting, enabled });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`/flow/${f.mapReduceId}`);
      expect((await settings())[setting]).toBe(enabled === "true");
    }
    const page = await (await f.request(`/flow/${f.mapReduceId}`)).text();
    expect(textOf(page)).toContain("Heartbeat: off Turn heartbeat on");
    expect(textOf(page)).toContain("Version lock: on Turn version lock off");
    await f.post(`/flow/${f.mapReduceId}/settings`, { setting: "heartbeat_enabled", enabled: "true" });
    expect((await settings()).heartbeat_enabled).toBe(true);
  });

  test("an unknown setting is an error on the page", async () => {
    const res = await f.post(`/flow/${f.mapReduceId}/settings`, { setting: "turbo", enabled: "true" });
    expect(res.status).toBe(409);
    expect(textOf(await res.text())).toContain("unknown flow group setting 'turbo'");
  });

  test("the schedule turns on (its runs are created) and off (they are removed)", async () => {
    const scheduled = async () =>
      (await f.one<{ n: number }>("SELECT count(*) AS n FROM flow_run WHERE flow_id = ? AND auto_scheduled = 1", f.hourlyId)).n;
    expect(await scheduled()).toBe(0);
    let res = await f.post(`/flow/${f.hourlyId}/schedule`, { active: "true" });
    expect(res.status).toBe(303);
    expect(await scheduled()).toBeGreaterThan(0);
    expect(textOf(await (await f.request(`/flow/${f.hourlyId}`)).text())).toContain("Schedule: on every 1h (from the flow) Turn schedule off");
    res = await f.post(`/flow/${f.hourlyId}/schedule`, { active: "false" });
    expect(res.status).toBe(303);
    expect(await scheduled()).toBe(0);
  });

  test("a flow without a schedule says so", async () => {
    const res = await f.post(`/flow/${f.helloId}/schedule`, { active: "true" });
    expect(res.status).toBe(409);
    expect(textOf(await res.text())).toContain("This flow has no schedule.");
  });
});

const taskRunsOf = (id: string) =>
  f.sql<{ id: string; version: number; state: string }>("SELECT id, version, state FROM task_run WHERE flow_run_id = ? ORDER BY task_slug", [id]);

/** A run that an imaginary runner set Running, its first task run Running too. */
async function runningRun(): Promise<{ id: string; first: { id: string; version: number } }> {
  const { id } = await f.backend.services.createFlowRun({ flowId: f.helloId });
  await f.backend.services.setFlowRunStates([{ flowRunId: id, version: 1, state: { type: "Running" } }]);
  const first = (await taskRunsOf(id))[0]!;
  await f.backend.services.setTaskRunStates([{ taskRunId: first.id, version: first.version, state: { type: "Running" } }]);
  return { id, first: { id: first.id, version: first.version + 1 } };
}

describe("cancel", () => {
  test("a waiting run is cancelled from its page at once, and the page says what became of its task runs", async () => {
    const { id } = await f.backend.services.createFlowRun({ flowId: f.helloId });
    const res = await f.post(`/flow-run/${id}/cancel`, {});
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/flow-run/${id}?cancelled`);
    expect((await flowRun(id)).state).toBe("Cancelled");
    const n = (await taskRunsOf(id)).length;
    expect((await taskRunsOf(id)).every((t) => t.state === "Cancelled")).toBe(true);
    const page = await (await f.request(res.headers.get("location")!)).text();
    expect(page).not.toContain("Cancel this run");
    expect(textOf(page)).toContain(`Flow run ${id} cancelled: 0 task runs completed, ${n} cancelled`);
    // Without ?cancelled the page does not repeat it.
    expect(textOf(await (await f.request(`/flow-run/${id}`)).text())).not.toContain(`Flow run ${id} cancelled`);
  });

  test("a running run: the button waits for its runner to end it, then says which task runs completed and which were cancelled", async () => {
    const { id, first } = await runningRun();
    const posted = f.post(`/flow-run/${id}/cancel`, {});
    // The runner: its task under way completes, then it ends the run Cancelled.
    while ((await flowRun(id)).state !== "Cancelling") await Bun.sleep(10);
    await f.backend.services.setTaskRunStates([{ taskRunId: first.id, version: first.version, state: { type: "Success" } }]);
    await f.backend.services.setFlowRunStates([{ flowRunId: id, version: Number((await flowRun(id)).version), state: { type: "Cancelled" } }]);
    const res = await posted;
    expect(res.status).toBe(303);
    const n = (await taskRunsOf(id)).length;
    const page = textOf(await (await f.request(res.headers.get("location")!)).text());
    expect(page).toContain(`Flow run ${id} cancelled: 1 task run completed, ${n - 1} cancelled`);
  });

  test("a running run whose process does not stop: the page says it is still Cancelling and when it will be stopped", async () => {
    const { id } = await runningRun();
    const res = await f.post(`/flow-run/${id}/cancel`, {});
    expect((await flowRun(id)).state).toBe("Cancelling");
    const n = (await taskRunsOf(id)).length;
    const page = textOf(await (await f.request(res.headers.get("location")!)).text());
    expect(page).toMatch(new RegExp(`Flow run ${id} is Cancelling: ${n} task runs? not finished, the run's process has not stopped yet \\(it will be stopped after \\d+ s\\)`));
  });

  test("an unknown run is an error, not a crash", async () => {
    const res = await f.post("/flow-run/00000000-0000-0000-0000-000000000000/cancel", {});
    expect(res.status).toBe(404);
  });
});

describe("cross-site requests", () => {
  test("a POST from another origin changes nothing", async () => {
    const before = (await runsOf(f.helloId)).n;
    const res = await f.post(`/flow/${f.helloId}/run`, { parameters: "{}" }, { origin: "http://evil.example" });
    expect(res.status).toBe(403);
    expect((await runsOf(f.helloId)).n).toBe(before);
  });

  test("without an Origin, the Referer must be this server", async () => {
    const { id } = await f.backend.services.createFlowRun({ flowId: f.helloId });
    const send = (headers: Record<string, string>) =>
      f.request(`/flow-run/${id}/cancel`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: "" });
    expect((await send({})).status).toBe(403);
    expect((await send({ referer: "http://evil.example/page" })).status).toBe(403);
    expect((await flowRun(id)).state).toBe("Scheduled");
    expect((await send({ referer: `http://localhost/flow-run/${id}` })).status).toBe(303);
    expect((await flowRun(id)).state).toBe("Cancelled");
  });
});
