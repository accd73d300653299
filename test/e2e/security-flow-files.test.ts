/**
 * Flow code never runs inside `serve`'s process (the compiled binary): a watched flow file that
 * exits, throws, loops or hangs at import is one line in the server's log and the server keeps
 * answering; the flow page of a registered flow shows its file's load error; a run whose process
 * hangs at import is killed by the agent after its start deadline and ends Failed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "../../scripts/build.ts";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { tempDir } from "../helpers.ts";
import { cliEnv, collectOutput, one, openHome, until } from "./process-helpers.ts";

let binary = "";

beforeAll(async () => {
  binary = await build(join(tempDir("prefectlite-bin-"), "prefectlite"));
}, 120_000);

afterAll(() => {
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
});

/** `prefectlite ARGS…` (the binary) as a long-running process whose output is collected. */
function startBinary(args: string[], env: Record<string, string>, cwd: string) {
  const proc = Bun.spawn([binary, ...args], { cwd, env: cliEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const output = collectOutput(proc);
  return {
    proc,
    output,
    lines: (pattern: RegExp) => output().split("\n").filter((l) => pattern.test(l)),
    async waitFor(pattern: RegExp, ms = 30_000) {
      await until(() => pattern.test(output()), `${pattern} in the server's output:\n${output()}`, ms);
      return output().match(pattern)!;
    },
  };
}

const GOOD = (name: string) => `import { Flow, task } from "prefectlite";
const hello = task({ name: "hello" }, () => "hi");
export const flow = new Flow("${name}", () => { hello(); });
`;

async function graphql(url: string, query: string): Promise<unknown> {
  const response = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  expect(response.status).toBe(200);
  return response.json();
}

describe("serve --watch with flow files that exit, throw, loop or hang at import", () => {
  test("logs one line for each, keeps registering the good one, and keeps answering /graphql", async () => {
    const home = tempDir("prefectlite-sec-home-");
    const dir = tempDir("prefectlite-sec-flows-");
    writeFileSync(join(dir, "good.ts"), GOOD("good-flow"));
    writeFileSync(join(dir, "exits.ts"), `process.exit(0);\n${GOOD("exits-flow")}`);
    writeFileSync(join(dir, "throws.ts"), `throw new Error("boom at import");\n`);
    writeFileSync(join(dir, "loops.ts"), `while (true) {}\n`);
    writeFileSync(join(dir, "hangs.ts"), `await new Promise(() => setInterval(() => {}, 1000));\n`);
    const serve = startBinary(["serve", "--port", "0", "--watch", dir], { PREFECTLITE_HOME: home, PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS: "2" }, home);
    try {
      const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
      await serve.waitFor(/Watching '.*' for flow changes/);
      const file = (name: string) => join(dir, name);
      const expected = [
        new RegExp(`\\| error: Loading '${file("exits.ts")}' exited with code 0 before reporting its flows .*\\(any version registered before stays live\\)$`),
        new RegExp(`\\| error: Loading '${file("hangs.ts")}' timed out after 2 s \\(PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS\\) \\(any version registered before stays live\\)$`),
        new RegExp(`\\| error: Loading '${file("loops.ts")}' timed out after 2 s \\(PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS\\) \\(any version registered before stays live\\)$`),
        new RegExp(`\\| error: Failed to load '${file("throws.ts")}': boom at import \\(any version registered before stays live\\)$`),
      ];
      await until(() => serve.lines(/error: /).length >= 4 && serve.output().includes("Registered 'good-flow'"), "every file to be loaded once", 60_000);
      const errors = serve.lines(/error: /);
      expect(errors).toHaveLength(4);
      for (const pattern of expected) expect(errors.filter((l) => pattern.test(l))).toHaveLength(1);
      expect(serve.output()).toContain(`Registered 'good-flow' from ${file("good.ts")}: version 1`);
      expect(await graphql(url!, "{ flow { name } }")).toEqual({ data: { flow: [{ name: "good-flow" }] } });

      // A registered flow's file starts looping: the server answers meanwhile, then logs the timeout,
      // and the flow's page says its file failed to load.
      writeFileSync(file("good.ts"), `while (true) {}\n${GOOD("good-flow")}`);
      expect(await graphql(url!, "{ flow { name version } }")).toEqual({ data: { flow: [{ name: "good-flow", version: 1 }] } });
      await serve.waitFor(new RegExp(`error: Loading '${file("good.ts")}' timed out after 2 s`));
      const { data } = (await graphql(url!, "{ flow { id } }")) as { data: { flow: Array<{ id: string }> } };
      const page = await (await fetch(`${url}/flow/${data.flow[0]!.id}`)).text();
      expect(page).toContain("data-load-error");
      expect(page).toContain(`Loading &#39;${file("good.ts")}&#39; timed out after 2 s`);
      expect(serve.proc.exitCode).toBeNull();

      // Fixed again: registered as before, and the page no longer shows an error.
      writeFileSync(file("good.ts"), GOOD("good-flow").replace('"hi"', '"hello"'));
      await serve.waitFor(/Registered 'good-flow' from .*good\.ts: version 2/);
      const fixed = (await graphql(url!, "{ flow(where: { archived: { _eq: false } }) { id } }")) as { data: { flow: Array<{ id: string }> } };
      expect(await (await fetch(`${url}/flow/${fixed.data.flow[0]!.id}`)).text()).not.toContain("data-load-error");
    } finally {
      serve.proc.kill("SIGTERM");
      await serve.proc.exited;
    }
  }, 90_000);

  test("a registered flow whose run's process hangs at import is killed after the start deadline, and the run ends Failed", async () => {
    const home = tempDir("prefectlite-sec-home-");
    const dir = tempDir("prefectlite-sec-flows-");
    // Loads for registration; hangs when a run's process imports it.
    writeFileSync(
      join(dir, "hung.ts"),
      `if (process.argv.includes("execute")) await new Promise(() => setInterval(() => {}, 1000));\n${GOOD("hung-flow")}`,
    );
    const serve = startBinary(
      ["serve", "--port", "0", "--watch", dir],
      { PREFECTLITE_HOME: home, PREFECTLITE_AGENT_START_TIMEOUT_SECONDS: "2", PREFECTLITE_AGENT_POLL_SECONDS: "0.2" },
      dir,
    );
    try {
      const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
      await serve.waitFor(/Registered 'hung-flow'/);
      const client = new BackendClient(new HttpBackend(url!));
      const flow = await client.latestFlow("hung-flow", "default");
      const runId = await client.createFlowRun({ flowId: flow!.id });
      const [, pid] = await serve.waitFor(new RegExp(`submitted flow run ${runId} for execution \\(PID (\\d+)\\)`));
      const db = await openHome(home);
      try {
        const run = () => one<{ state: string; serialized_state: string }>(db, "SELECT state, serialized_state FROM flow_run WHERE id = $id", { id: runId });
        await until(async () => (await run()).state === "Failed", "the run to be failed");
        expect(JSON.parse((await run()).serialized_state).message).toMatch(
          new RegExp(`^The flow run process \\(PID ${pid}\\) did not start the run within 2 s \\(PREFECTLITE_AGENT_START_TIMEOUT_SECONDS\\): killed it`),
        );
        await until(() => {
          try {
            process.kill(Number(pid), 0);
            return false;
          } catch {
            return true;
          }
        }, "the hung process to be gone");
      } finally {
        await db.close();
        await client.close();
      }
    } finally {
      serve.proc.kill("SIGTERM");
      await serve.proc.exited;
    }
  }, 90_000);
});
