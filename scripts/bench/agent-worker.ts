/**
 * One measurement of scripts/bench/agent.ts in its own process, printing one JSON line.
 *   bun agent-worker.ts latency N HOME [CHILDREN WARM] — serve (in-process agent) in this process; N runs
 *       created one after another through HTTP, each once the previous finished; create → Running from
 *       the run's own state timestamps. CHILDREN: http (default) | database — how the agent's children
 *       reach the backend; WARM: the agent's warm children (default: its default)
 *   bun agent-worker.ts latency-idle N HOME — the same, but each run is created once the agent is idle
 *       again (its warm children ready): the latency of a run that finds the agent not busy
 *   bun agent-worker.ts agent-runs N HOME [CHILDREN WARM RUNS_PER_PROCESS] — N hello-world runs one after
 *       another through serve's agent (a child process each, or RUNS_PER_PROCESS runs per warm child), wall time
 *   bun agent-worker.ts warm-runs N HOME — N hello-world runs one after another, created and executed
 *       by the backed runner in one warm process on the embedded database (no child per run)
 *   bun agent-worker.ts fanout-warm N HOME — N fan-out runs one after another in one process (each timed:
 *       the first pays the process's JIT warm-up) / fanout-agent 1 HOME — the fan-out run through serve's agent
 */
import { join } from "node:path";
import { runBackedFlowRun } from "../../src/backed/flow-run-runner.ts";
import { BackendClient } from "../../src/client/client.ts";
import { HttpTransport } from "../../src/client/http-transport.ts";
import { EmbeddedTransport } from "../../src/runtime/embedded-transport.ts";
import { serve } from "../../src/runtime/serve.ts";

const [mode, nText, home, childrenArg, warmArg, runsPerProcessArg] = process.argv.slice(2);
const agentChildBackend = childrenArg === "database" ? "database" : "http";
const agentWarmProcesses = warmArg === undefined || warmArg === "" ? undefined : Number(warmArg);
const agentRunsPerProcess = runsPerProcessArg === undefined ? undefined : Number(runsPerProcessArg);
const n = Number(nText);
process.env.PREFECTLITE_HOME = home!;

const FANOUT = join(import.meta.dir, "fanout-flow.ts");

/** Register hello-world and the fan-out flow with the real CLI, on this home's database. */
function registerWithCli(): void {
  // With binary children, register with the binary too: its built-in hello world is minified, so
  // its serialized hash differs from the source's and a child would refuse the source's registration.
  const binary = process.env.BENCH_AGENT_EXECUTABLE;
  const cli = binary && mode !== "warm-runs" && mode !== "fanout-warm" ? [binary] : [process.execPath, join(import.meta.dir, "../../src/main.ts")];
  for (const args of [["create", "project", "bench"], ["register", "-m", "prefectlite.hello_world", "-p", FANOUT, "--project", "bench"]]) {
    const r = Bun.spawnSync([...cli, ...args], { env: { ...process.env, PREFECTLITE_HOME: home! } });
    if (r.exitCode !== 0) throw new Error(`prefectlite ${args.join(" ")} failed: ${r.stderr.toString()}`);
  }
}

async function flowIds(client: BackendClient): Promise<{ hello: string; fanout: string }> {
  return { hello: (await client.latestFlow("hello-world", "bench"))!.id, fanout: (await client.latestFlow("fanout", "bench"))!.id };
}

async function waitFinished(client: BackendClient, id: string): Promise<string> {
  for (;;) {
    const r = await client.graphql<{ flow_run_by_pk: { state: string } }>(`query ($id: uuid!) { flow_run_by_pk(id: $id) { state } }`, { id });
    const s = r.flow_run_by_pk.state;
    if (s === "Success" || s === "Failed" || s === "Cancelled") return s;
    await Bun.sleep(1);
  }
}

if (mode === "latency" || mode === "latency-idle" || mode === "agent-runs" || mode === "fanout-agent") {
  registerWithCli();
  const agentExecutable = process.env.BENCH_AGENT_EXECUTABLE || undefined;
  const running = await serve({ host: "127.0.0.1", port: 0, project: "bench", log: () => {}, agentChildBackend, agentWarmProcesses, agentRunsPerProcess, agentExecutable });
  const agent = running.agent!;
  /** Until the agent has no run in hand and all its warm children are ready. */
  const idle = async () => {
    while (agent.running.length > 0 || agent.warm.ready < agent.warm.size) {
      await agent.warmReady();
      await Bun.sleep(1);
    }
  };
  await idle(); // the measurement starts with serve up, as a user finds it
  const client = new BackendClient(new HttpTransport(running.url));
  const ids = await flowIds(client);
  const flowId = mode === "fanout-agent" ? ids.fanout : ids.hello;
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (mode === "latency-idle") await idle();
    const id = await client.createFlowRun({ flowId });
    const state = await waitFinished(client, id);
    if (state !== "Success") throw new Error(`run ${id} ended ${state}`);
    if (mode.startsWith("latency")) {
      const rows = running.backend.db
        .query("SELECT state, timestamp FROM flow_run_state WHERE flow_run_id = $id AND state IN ('Scheduled', 'Running') ORDER BY version")
        .all({ id }) as Array<{ state: string; timestamp: string }>;
      latencies.push(Date.parse(rows.find((r) => r.state === "Running")!.timestamp) - Date.parse(rows[0]!.timestamp));
    }
  }
  const ms = performance.now() - t0;
  await client.close();
  await running.stop();
  console.log(JSON.stringify({ mode, n, ms, latencies }));
} else {
  registerWithCli();
  const backendClient = new BackendClient(EmbeddedTransport.open());
  const ids = await flowIds(backendClient);
  const flowId = mode === "fanout-warm" ? ids.fanout : ids.hello;
  const each: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const id = await backendClient.createFlowRun({ flowId });
    const outcome = await runBackedFlowRun(backendClient, id, {});
    if (outcome.state !== "Success") throw new Error(`run ${id} ended ${outcome.state}: ${outcome.message}`);
    each.push(performance.now() - started);
  }
  const ms = performance.now() - t0;
  await backendClient.close();
  console.log(JSON.stringify({ mode, n, ms, each }));
}
