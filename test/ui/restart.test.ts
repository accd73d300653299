import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { openUiFixture, type UiFixture } from "./fixtures.ts";
import { elementById, textOf } from "./html.ts";

let f: UiFixture;
beforeAll(async () => {
  f = await openUiFixture();
});
afterAll(() => f.close());

const flowRun = (id: string) => f.one("SELECT * FROM flow_run WHERE id = ?", id);
const page = async (id: string) => (await f.request(`/flow-run/${id}`)).text();

/** A hello-world run whose parameter task succeeded and whose run then failed (its process died, say). */
async function failedRun(): Promise<string> {
  const { id } = await f.backend.services.createFlowRun({ flowId: f.helloId });
  await f.backend.services.setFlowRunStates([{ flowRunId: id, version: 1, state: { type: "Running" } }]);
  const name = await f.one("SELECT id, version FROM task_run WHERE flow_run_id = ? AND task_slug = 'name'", id);
  await f.backend.services.setTaskRunStates([{ taskRunId: name.id, version: name.version, state: { type: "Success" } }]);
  await f.backend.services.setFlowRunStates([{ flowRunId: id, version: 2, state: { type: "Failed", message: "The flow run process died." } }]);
  return id;
}

describe("the Restart button", () => {
  test("a Failed run's page has it; pressing it restarts the run, which an agent then runs to Success without its succeeded task", async () => {
    const id = await failedRun();
    expect(elementById(await page(id), "run-card")).toContain(`action="/flow-run/${id}/restart"`);

    const res = await f.post(`/flow-run/${id}/restart`, {});
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/flow-run/${id}`);
    expect((await flowRun(id)).state).toBe("Scheduled");
    const after = await page(id);
    expect(after).not.toContain(`/flow-run/${id}/restart`);
    expect(textOf(elementById(after, "run-states"))).toContain("Flow run restarted by the UI: 2 task runs go again, 1 keeps its state");

    const outcome = await runBackedFlowRun(f.client, id, { resultsDir: join(f.home, "results"), heartbeatMs: 60_000 });
    expect(outcome.state).toBe("Success");
    const nameStates = await f.sql("SELECT s.state FROM task_run_state s JOIN task_run t ON t.id = s.task_run_id WHERE t.flow_run_id = ? AND t.task_slug = 'name' ORDER BY s.version", [id]);
    expect(nameStates).toEqual([{ state: "Pending" }, { state: "Success" }]);
    const card = elementById(await page(id), "run-card");
    expect(card).toContain('data-state="Success"');
    expect(card).not.toContain("/restart");
  });

  test("a Cancelled run has it too; a run that succeeded or is waiting has none, and a POST for it is refused with one line", async () => {
    const { id: waiting } = await f.backend.services.createFlowRun({ flowId: f.helloId });
    expect(await page(waiting)).not.toContain("/restart");
    const refused = await f.post(`/flow-run/${waiting}/restart`, {});
    expect(refused.status).toBe(409);
    expect(textOf(await refused.text())).toContain(
      `The run was not restarted: Flow run ${waiting} was not restarted: it is Scheduled, not finished: only a run that failed or was cancelled can be restarted`,
    );
    expect((await flowRun(waiting)).state).toBe("Scheduled");

    await f.backend.services.cancelFlowRun(waiting);
    expect(await page(waiting)).toContain(`action="/flow-run/${waiting}/restart"`);

    const done = await f.executeRun(f.helloId);
    expect(await page(done)).not.toContain("/restart");
    expect((await f.post(`/flow-run/${done}/restart`, {})).status).toBe(409);
    expect((await flowRun(done)).state).toBe("Success");
  });

  test("it passes the same origin checks as every form: a cross-site POST changes nothing", async () => {
    const id = await failedRun();
    const res = await f.post(`/flow-run/${id}/restart`, {}, { origin: "http://evil.example" });
    expect(res.status).toBe(403);
    expect((await flowRun(id)).state).toBe("Failed");
  });

  test("an unknown run is a not-found page", async () => {
    expect((await f.post("/flow-run/00000000-0000-0000-0000-000000000000/restart", {})).status).toBe(404);
    expect((await f.post("/flow-run/nope/restart", {})).status).toBe(404);
  });
});

describe("the Agent fact", () => {
  const agentFact = (html: string) => /Agent (.*?) Heartbeat/.exec(textOf(elementById(html, "run-card")))![1];

  test("says what is true of a run without an agent", async () => {
    const { id: waiting } = await f.backend.services.createFlowRun({ flowId: f.helloId });
    expect(agentFact(await page(waiting))).toBe("none yet");
    await f.backend.services.cancelFlowRun(waiting);
    expect(agentFact(await page(waiting))).toBe("none: it ended before an agent took it");

    const agentless = await f.executeRun(f.helloId, {}, ["agentless-run-12345678"]);
    expect(agentFact(await page(agentless))).toBe("none: executed here by run --execute (agentless)");
    const { id: queued } = await f.backend.services.createFlowRun({ flowId: f.helloId, labels: ["agentless-run-87654321"] });
    expect(agentFact(await page(queued))).toBe("none: run --execute executes it here (agentless)");

    const executed = await f.executeRun(f.helloId);
    expect(agentFact(await page(executed))).toBe("none: executed without an agent (agentless)");
  });
});
