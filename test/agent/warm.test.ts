/**
 * Warm children: `execute flow-run --wait-for-id` executes the runs it is sent over its run channel,
 * and an agent hands claimed runs to its warm children — one run each, or several one after
 * another with runsPerProcess — except a run whose run config sets an environment, which gets a
 * child started with that environment. Real children, real flow file, no timing asserted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { embeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { Agent, type AgentOptions } from "../../src/agent/agent.ts";
import type { ChildMessage, ParentMessage } from "../../src/client/channel-backend.ts";
import type { Backend as ServicesBackendLike } from "../../src/client/backend.ts";
import { RunChannelHost } from "../../src/run-process/run-channel.ts";
import type { BackendClient } from "../../src/client/client.ts";
import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { serve, type RunningServe } from "../../src/runtime/serve.ts";
import { registeredFlow, type CliFixture } from "../cli/execute-helpers.ts";
import { REPO_ROOT, tempDir } from "../helpers.ts";
import { until } from "./helpers.ts";

interface Execution {
  pid: number;
  warm: boolean;
  greeting: string | null;
  apiUrl: string | null;
}

/** A flow whose one task records, per execution, the process that ran it and what it was given. */
async function recordingFlow(): Promise<{ fixture: CliFixture; out: string; flowId: string; client: BackendClient }> {
  const out = tempDir("prefectlite-warm-out-");
  const fixture = await registeredFlow(`
    import { appendFileSync } from "node:fs";
    import { Flow, task } from "prefectlite";
    const record = task({ name: "record" }, () => {
      appendFileSync(${JSON.stringify(join(out, "executions.jsonl"))}, JSON.stringify({
        pid: process.pid,
        warm: process.argv.includes("--wait-for-id"),
        greeting: process.env.WARM_TEST_GREETING ?? null,
        apiUrl: process.env.PREFECTLITE_API_URL ?? null,
      }) + "\\n");
    });
    export const flow = new Flow("warm-recorder", () => { record(); });
  `);
  const client = fixture.client();
  const flowId = (await client.latestFlow("warm-recorder", "test"))!.id;
  return { fixture, out, flowId, client };
}

function executions(out: string): Execution[] {
  const path = join(out, "executions.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Execution);
}

async function stateOf(client: BackendClient, id: string): Promise<string> {
  const r = await client.graphql<{ flow_run_by_pk: { state: string } }>(`query ($id: uuid!) { flow_run_by_pk(id: $id) { state } }`, { id });
  return r.flow_run_by_pk.state;
}

async function untilFinished(client: BackendClient, ids: string[]): Promise<string[]> {
  const states: string[] = [];
  const deadline = Date.now() + 25_000;
  for (;;) {
    states.length = 0;
    for (const id of ids) states.push(await stateOf(client, id));
    if (states.every((s) => s === "Success" || s === "Failed" || s === "Cancelled")) return states;
    if (Date.now() > deadline) throw new Error(`runs still ${states.join(", ")}`);
    await Bun.sleep(20);
  }
}

/** This process's environment, pointed at `home`'s embedded database. */
function embeddedEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "PREFECTLITE_API_URL") env[k] = v;
  return { ...env, PREFECTLITE_HOME: home };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("a warm child (execute flow-run --wait-for-id)", () => {
  /** The child with a run channel answered from `backend` by a RunChannelHost; its messages (but calls) collected. */
  function spawnWarm(home: string, backend: ServicesBackendLike) {
    const host = new RunChannelHost(backend);
    const said: ChildMessage[] = [];
    let heard: () => void = () => {};
    const child = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), "execute", "flow-run", "--wait-for-id"], {
      env: embeddedEnv(home),
      stdout: "pipe",
      stderr: "pipe",
      serialization: "json",
      ipc: (message) => {
        const own = host.received(channel, message as ChildMessage);
        if (own) said.push(own);
        heard();
      },
    });
    const channel = { send: (m: ParentMessage) => child.send(m) };
    const until = async (count: number) => {
      while (said.length < count) await new Promise<void>((resolve) => (heard = resolve));
    };
    return { child, said, until, send: channel.send };
  }

  test("says it is ready, executes each run it is sent over its channel, says when each is done, and exits when told bye", async () => {
    const { fixture, out, flowId, client } = await recordingFlow();
    cleanups.push(() => client.close());
    const first = await client.createFlowRun({ flowId });
    const second = await client.createFlowRun({ flowId });
    const warm = spawnWarm(fixture.home, await client.backend());
    await warm.until(1);
    expect(warm.said[0]).toEqual({ t: "ready" });
    warm.send({ t: "run", id: first });
    await warm.until(2);
    expect(await stateOf(client, first)).toBe("Success");
    expect(await stateOf(client, second)).toBe("Scheduled");
    warm.send({ t: "run", id: second });
    warm.send({ t: "bye" });
    expect(await warm.child.exited).toBe(0);
    expect(await stateOf(client, second)).toBe("Success");
    expect(warm.said.map((m) => (m.t === "done" ? [m.t, m.id, m.code, m.stop, m.rss > 0] : [m.t]))).toEqual([
      ["ready"],
      ["done", first, 0, false, true],
      ["done", second, 0, false, true],
    ]);
    // Its runs reached the database through this process; the child itself was pointed at it only for anything else.
    expect(executions(out)).toEqual([
      { pid: warm.child.pid, warm: true, greeting: null, apiUrl: null },
      { pid: warm.child.pid, warm: true, greeting: null, apiUrl: null },
    ]);
  });

  test("told bye before any run exits without executing anything; started without a channel it refuses with one line", async () => {
    const { fixture, out, client } = await recordingFlow();
    cleanups.push(() => client.close());
    const warm = spawnWarm(fixture.home, await client.backend());
    await warm.until(1);
    warm.send({ t: "bye" });
    expect(await warm.child.exited).toBe(0);
    expect(executions(out)).toEqual([]);

    const bare = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), "execute", "flow-run", "--wait-for-id"], { env: embeddedEnv(fixture.home), stdout: "pipe", stderr: "pipe" });
    expect(await bare.exited).not.toBe(0);
    expect((await new Response(bare.stderr).text()).trim()).toBe("Error: --wait-for-id is for agents: it takes its runs over the channel of the process that starts it");
  });
});

describe("an agent with warm children", () => {
  let backend: Backend | undefined;
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
  });

  /** An agent on the home's embedded database keeping one warm child; stopped after the test. */
  async function warmAgent(home: string, options: Partial<AgentOptions> = {}): Promise<Agent> {
    backend = await openBackend(join(home, "prefectlite.db"));
    const agent = new Agent({ backend: embeddedBackend(backend, { home: home }), warmProcesses: 1, log: () => {}, ...options });
    cleanups.push(async () => void (await agent.stop(10_000)));
    return agent;
  }

  test("hands each env-less run to its own warm child; a run with a run-config env gets a fresh child with that env", async () => {
    const { fixture, out, flowId, client } = await recordingFlow();
    cleanups.push(() => client.close());
    const agent = await warmAgent(fixture.home);
    expect(await agent.runOnce()).toBe(0); // registers and starts its warm child
    expect(agent.warm.idle).toBe(1);
    await agent.warmReady();
    expect(agent.warm.ready).toBe(1);

    // One run at a time: each pass takes the warm child the previous pass started as a replacement.
    const ids: string[] = [];
    for (const runConfig of [undefined, { type: "UniversalRun", env: { WARM_TEST_GREETING: "hello" } }, undefined]) {
      ids.push(await client.createFlowRun({ flowId, runConfig }));
      await agent.warmReady();
      expect(await agent.runOnce()).toBe(1);
      await untilFinished(client, [ids.at(-1)!]);
    }
    expect(await untilFinished(client, ids)).toEqual(["Success", "Success", "Success"]);

    const ran = executions(out);
    expect(ran).toHaveLength(3);
    expect(new Set(ran.map((e) => e.pid)).size).toBe(3); // one process per run
    expect(ran.map((e) => [e.warm, e.greeting])).toEqual([
      [true, null],
      [false, "hello"],
      [true, null],
    ]);
    await until(() => agent.running.length === 0, "the children to exit");
  });

  test("with runsPerProcess, a warm child executes that many runs one after another, then a new child takes over", async () => {
    const { fixture, out, flowId, client } = await recordingFlow();
    cleanups.push(() => client.close());
    const agent = await warmAgent(fixture.home, { runsPerProcess: 2 });
    await agent.runOnce();
    const ids: string[] = [];
    for (const runConfig of [undefined, { type: "UniversalRun", env: { WARM_TEST_GREETING: "hello" } }, undefined, undefined]) {
      ids.push(await client.createFlowRun({ flowId, runConfig }));
      await agent.warmReady();
      expect(await agent.runOnce()).toBe(1);
      await untilFinished(client, [ids.at(-1)!]);
      await until(() => agent.running.length === 0, "the run's child to be done");
    }
    expect(await untilFinished(client, ids)).toEqual(["Success", "Success", "Success", "Success"]);
    const ran = executions(out);
    expect(ran.map((e) => [e.warm, e.greeting])).toEqual([
      [true, null],
      [false, "hello"], // a run-config env: a fresh child, and the warm one waits for the next run
      [true, null],
      [true, null],
    ]);
    expect(ran[2]!.pid).toBe(ran[0]!.pid); // the warm child's second run
    expect(new Set([ran[0]!.pid, ran[1]!.pid, ran[3]!.pid]).size).toBe(3); // after two runs, a new warm child
    expect(agent.warm.idle).toBe(1);
    // Stopped, the agent lets go of the child waiting for its second run.
    expect(await agent.stop(10_000)).toEqual({ finished: 0, interrupted: [] });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => !alive(ran[3]!.pid), "the reused child to exit");
  });

  test("a run config's reuseProcess decides for its runs: true shares a process on an agent of a process per run, false never does", async () => {
    const { fixture, out, flowId, client } = await recordingFlow();
    cleanups.push(() => client.close());
    const agent = await warmAgent(fixture.home, { warmProcesses: 2 });
    await agent.runOnce();
    const ids: string[] = [];
    for (const reuseProcess of [true, true, false, true]) {
      ids.push(await client.createFlowRun({ flowId, runConfig: { type: "UniversalRun", reuseProcess } }));
      await agent.warmReady();
      expect(await agent.runOnce()).toBe(1);
      await untilFinished(client, [ids.at(-1)!]);
      await until(() => agent.running.length === 0, "the run's child to be done");
    }
    expect(await untilFinished(client, ids)).toEqual(["Success", "Success", "Success", "Success"]);
    const pids = executions(out).map((e) => e.pid);
    expect(pids[1]).toBe(pids[0]); // reuse: the same process
    expect(pids[2]).not.toBe(pids[0]); // reuseProcess false: a process that executed nothing before, and only this run
    expect(pids[3]).toBe(pids[0]); // back to the reused one
  });

  test("a reused child past the memory bound after a run is let go, and says so", async () => {
    const { fixture, out, flowId, client } = await recordingFlow();
    cleanups.push(() => client.close());
    const said: string[] = [];
    const agent = await warmAgent(fixture.home, { runsPerProcess: 10, maxProcessBytes: 1024, log: (line) => said.push(line) });
    await agent.runOnce();
    for (let i = 0; i < 2; i++) {
      const id = await client.createFlowRun({ flowId });
      await agent.warmReady();
      expect(await agent.runOnce()).toBe(1);
      await untilFinished(client, [id]);
      await until(() => agent.running.length === 0, "the run's child to be done");
    }
    const pids = executions(out).map((e) => e.pid);
    expect(new Set(pids).size).toBe(2);
    expect(said.filter((line) => line.includes("past PREFECTLITE_AGENT_MAX_PROCESS_MB")).length).toBe(2);
  });

  test("a reused warm child that dies during a run leaves that run to the safeguards, and a new child takes the next", async () => {
    const out = tempDir("prefectlite-warm-out-");
    const fixture = await registeredFlow(`
      import { appendFileSync } from "node:fs";
      import { Flow, Parameter, task } from "prefectlite";
      const record = task({ name: "record" }, (die: boolean) => {
        appendFileSync(${JSON.stringify(join(out, "executions.jsonl"))}, JSON.stringify({ pid: process.pid, warm: true, greeting: null, apiUrl: null }) + "\\n");
        if (die) process.kill(process.pid, "SIGKILL");
      });
      export const flow = new Flow("warm-dier", () => { record(Parameter("die", { default: false })); });
    `);
    const client = fixture.client();
    cleanups.push(() => client.close());
    const flowId = (await client.latestFlow("warm-dier", "test"))!.id;
    const lines: string[] = [];
    const agent = await warmAgent(fixture.home, { runsPerProcess: 5, log: (line) => lines.push(line) });
    await agent.runOnce();
    const states: string[] = [];
    for (const die of [false, true, false]) {
      const id = await client.createFlowRun({ flowId, parameters: { die } });
      await agent.warmReady();
      expect(await agent.runOnce()).toBe(1);
      await until(() => agent.running.length === 0, "the run's child to be done");
      states.push(await stateOf(client, id));
    }
    expect(states).toEqual(["Success", "Running", "Success"]); // the killed run waits for the zombie killer and Lazarus
    const ran = executions(out);
    expect(ran[1]!.pid).toBe(ran[0]!.pid);
    expect(ran[2]!.pid).not.toBe(ran[1]!.pid);
    expect(lines.some((l) => l.includes("killed by SIGKILL"))).toBe(true);
  });

  test("in serve, the children talk to the server over HTTP", async () => {
    const { fixture, out, flowId, client } = await recordingFlow();
    cleanups.push(() => client.close());
    const previous = process.env.PREFECTLITE_HOME;
    process.env.PREFECTLITE_HOME = fixture.home;
    let running: RunningServe;
    try {
      running = await serve({ host: "127.0.0.1", port: 0, project: "test", scheduler: false, agentShutdownGraceMs: 10_000, log: () => {} });
    } finally {
      if (previous === undefined) delete process.env.PREFECTLITE_HOME;
      else process.env.PREFECTLITE_HOME = previous;
    }
    cleanups.push(() => running.stop());
    await until(() => running.agent!.warm.idle === 1 || running.agent!.warm.idle === 2, "the warm children to start");
    await running.agent!.warmReady();
    const id = await client.createFlowRun({ flowId });
    running.agent!.wake(); // the run was written by another connection: no need to wait for the poll
    expect(await untilFinished(client, [id])).toEqual(["Success"]);
    expect(executions(out)).toEqual([{ pid: expect.any(Number), warm: true, greeting: null, apiUrl: running.url }]);
  });
});
