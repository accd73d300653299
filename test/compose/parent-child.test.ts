/**
 * The 0.15 release's parent/child example (flows/parent_child.ts) as a user runs it: registered,
 * then `run --name parent --execute` with no server (the child executes agentlessly), through a
 * server with no agent, and through `serve` with its in-process agent taking the child.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { FlowRunView } from "../../src/client/views/index.ts";
import { LocalResultStore } from "../../src/engine/result-store.ts";
import { serve, type RunningServe } from "../../src/runtime/serve.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { REPO_ROOT, runCli, useTempHome } from "../helpers.ts";

const EXAMPLE = join(REPO_ROOT, "flows/parent_child.ts");
const home = useTempHome();
/** Each test runs real processes (register, run, the child's execute): time enough on a busy machine. */
const SLOW = 60_000;

const childUrl = (stdout: string) => /Created flow run '([^']+)': \S+\/flow-run\/([0-9a-f-]{36})/.exec(stdout);

async function registerExample(env: Record<string, string> = {}) {
  expect((await runCli(["create", "project", "example"], { home: home(), env })).exitCode).toBe(0);
  const registered = await runCli(["register", "-p", EXAMPLE, "--project", "example"], { home: home(), env });
  expect(registered.stdout).toContain("2 registered");
}

function expectParentOutput(stdout: string) {
  const parentName = /└── Name: (\S+)/.exec(stdout)![1]!;
  expect(stdout).toContain(`Creating flow run '${parentName}-child' for flow 'child'...`);
  expect(stdout).toContain("Got: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
  expect(stdout).toContain("Created: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]");
  expect(stdout).toContain("Flow run succeeded!");
  const created = childUrl(stdout)!;
  expect(created[1]).toBe(`${parentName}-child`);
  return { parentName, childId: created[2]! };
}

async function expectChildFinished(client: BackendClient, childId: string, parentName: string) {
  const child = await FlowRunView.fromFlowRunId(childId, { client, results: new LocalResultStore(join(home(), "results")) });
  expect(child.name).toBe(`${parentName}-child`);
  expect(child.state.type).toBe("Success");
  expect(child.parameters).toEqual({ data_size: 10 });
  expect(await (await child.getTaskRun({ taskSlug: "create_some_data-1" })).getResult()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

describe("the parent/child example", () => {
  test("run --name parent --execute with no server: the parent executes the child agentlessly", async () => {
    await registerExample();
    const out = await runCli(["run", "--name", "parent", "--execute"], { home: home() });
    expect(out.stderr).toBe("");
    expect(out.exitCode).toBe(0);
    const { parentName, childId } = expectParentOutput(out.stdout);
    expect(out.stdout).toContain(`No live agent can take flow run '${parentName}-child' (with no labels): executing it agentlessly in a child process`);

    const client = new BackendClient(await openEmbeddedBackend(join(home(), "prefectlite.db")));
    try {
      await expectChildFinished(client, childId, parentName);
      // The child's idempotency key is the creating task run's id: a retried parent makes no second child.
      const data = await client.graphql<{ flow_run_by_pk: { idempotency_key: string }; task_run: Array<{ id: string }> }>(
        `query ($id: uuid!, $name: String!) {
          flow_run_by_pk(id: $id) { idempotency_key }
          task_run(where: { task_slug: { _eq: "create_flow_run-1" }, flow_run: { name: { _eq: $name } } }) { id }
        }`,
        { id: childId, name: parentName },
      );
      expect(data.flow_run_by_pk.idempotency_key).toBe(data.task_run[0]!.id);
    } finally {
      await client.close();
    }
  }, SLOW);

  describe("through a server", () => {
    let server: RunningServe | undefined;
    afterEach(async () => {
      await server?.stop();
      server = undefined;
    });

    test("with no agent: run --execute over the API, the child executes agentlessly too", async () => {
      server = await serve({ host: "127.0.0.1", port: 0, project: "default", scheduler: false, agent: false, log: () => {} });
      const env = { PREFECTLITE_API_URL: server.url };
      await registerExample(env);
      const out = await runCli(["run", "--name", "parent", "--execute"], { home: home(), env });
      expect(out.exitCode).toBe(0);
      const { parentName, childId } = expectParentOutput(out.stdout);
      expect(out.stdout).toContain(`Created flow run '${parentName}-child': ${server.url}/flow-run/${childId}`);
      expect(out.stdout).toContain("executing it agentlessly in a child process");
      const client = new BackendClient(new HttpBackend(server.url));
      await expectChildFinished(client, childId, parentName);
    }, SLOW);

    test("with serve's agent: the agent takes the child (no agentless execution)", async () => {
      server = await serve({ host: "127.0.0.1", port: 0, project: "default", scheduler: false, log: () => {} });
      const env = { PREFECTLITE_API_URL: server.url };
      await registerExample(env);
      const created = await runCli(["run", "--name", "parent", "--json"], { home: home(), env });
      expect(created.exitCode).toBe(0);
      const parentId = (JSON.parse(created.stdout.trim().split("\n").at(-1)!) as { id: string }).id;
      const client = new BackendClient(new HttpBackend(server.url));
      const deps = { client, results: new LocalResultStore(join(home(), "results")) };
      let parent = await FlowRunView.fromFlowRunId(parentId, deps);
      while (!parent.state.isFinished()) {
        await Bun.sleep(100);
        parent = await parent.getLatest();
      }
      const messages = (await parent.getLogs()).map((l) => l.message);
      expect(parent.state.type).toBe("Success");
      expect(messages).toContain("Got: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
      expect(messages.some((m) => m.includes("executing it agentlessly"))).toBe(false);
      const childId = childUrl(messages.join("\n"))![2]!;
      await expectChildFinished(client, childId, parent.name);
    }, SLOW);
  });
});
