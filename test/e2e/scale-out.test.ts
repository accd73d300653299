/**
 * Several machines, played on one: two `serve` replicas on one PostgreSQL behind a round-robin
 * proxy, three `agent start` processes reaching the API only through the proxy, 300 runs created
 * at a steady rate, and replica A SIGKILLed after run 100 and restarted 5 s later. Every run ends
 * Success, none executes twice, no auto-scheduled run is made twice, and the test's own client
 * saw no error it did not retry. Figures are printed, never asserted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../scripts/round-robin-proxy.ts";
import { runCli, tempDir } from "../helpers.ts";
import { POSTGRES_AVAILABLE, POSTGRES_MISSING, postgresDatabase, type TestDatabase } from "../postgres.ts";
import { startCli, type CliProcess } from "./process-helpers.ts";

const FLOWS = join(import.meta.dir, "fixtures/fault-flows.ts");
const RUNS = 300;
const KILL_AFTER = 100;
if (!POSTGRES_AVAILABLE) console.warn(POSTGRES_MISSING);

/** A free TCP port on 127.0.0.1 (the replica keeps it across its restart, behind the proxy). */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

describe.skipIf(!POSTGRES_AVAILABLE)("two serve replicas on one PostgreSQL, three agents, one replica killed mid-load", () => {
  let database: TestDatabase;
  let proxy: RoundRobinProxy;
  const processes: CliProcess[] = [];
  const faultDir = tempDir("prefectlite-scale-files-");

  const replicaEnv = (name: string) => ({
    PREFECTLITE_HOME: tempDir(`prefectlite-scale-${name}-`),
    PREFECTLITE_DATABASE_URL: database.url,
    PREFECTLITE_REPLICA_ID: name,
    PREFECTLITE_LOOP_SECONDS: "0.5",
    PREFECTLITE_HEARTBEAT_SECONDS: "1",
    PREFECTLITE_LAZARUS_AFTER_SECONDS: "10",
  });
  const ports = { a: 0, b: 0 };
  const startReplica = (name: "a" | "b") => {
    const replica = startCli(["serve", "--no-agent", "--port", String(ports[name])], replicaEnv(name));
    processes.push(replica);
    return replica;
  };

  /** One GraphQL request through the proxy, retried (a 502 or a refused replica) as prefectlite's clients do. */
  const retried = { count: 0 };
  async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let lastError = "";
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const response = await fetch(`${proxy.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
        if (response.ok && body.data && !body.errors?.length) return body.data;
        lastError = `${response.status} ${JSON.stringify(body.errors ?? body)}`;
        if (response.status < 500 && body.errors?.[0]?.extensions?.code !== "UNAVAILABLE") break;
      } catch (error) {
        lastError = String(error);
      }
      retried.count++;
      await Bun.sleep(100 * Math.min(attempt + 1, 5));
    }
    throw new Error(`request failed for good: ${lastError}`);
  }

  beforeAll(async () => {
    database = await postgresDatabase();
    ports.a = freePort();
    ports.b = freePort();
    const [a, b] = [startReplica("a"), startReplica("b")];
    await Promise.all([a.waitFor(/listening on/, 60_000), b.waitFor(/listening on/, 60_000)]);
    proxy = startRoundRobinProxy([`http://127.0.0.1:${ports.a}`, `http://127.0.0.1:${ports.b}`]);
    const api = { env: { PREFECTLITE_API_URL: proxy.url } };
    expect((await runCli(["create", "project", "scale"], api)).exitCode).toBe(0);
    const registered = await runCli(["register", "-p", FLOWS, "--project", "scale", "--name", "recorded", "--name", "recorded_on_schedule"], api);
    expect(registered.exitCode, registered.stderr).toBe(0);
    for (const n of [1, 2, 3]) {
      const agent = startCli(["agent", "start", "--api", proxy.url, "--name", `agent-${n}`, "--concurrency", "4"], {
        PREFECTLITE_HOME: tempDir(`prefectlite-scale-agent-${n}-`),
        FAULT_DIR: faultDir,
        PREFECTLITE_HEARTBEAT_SECONDS: "1",
      });
      processes.push(agent);
    }
    await Promise.all(processes.slice(2).map((agent) => agent.waitFor(/started: labels/, 60_000)));
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) p.proc.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.proc.exited));
    await proxy?.stop();
    await database?.drop();
  });

  test("every run ends Success exactly once; no duplicate auto-scheduled run; no client error left unretried", async () => {
    const { flow } = await graphql<{ flow: { id: string }[] }>(`{ flow(where: { name: { _eq: "recorded" } }) { id } }`);
    const flowId = flow[0]!.id;
    const created: string[] = [];
    const started = Date.now();
    let killedAt = 0;
    for (let i = 0; i < RUNS; i++) {
      const data = await graphql<{ create_flow_run: { id: string } }>(
        `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`,
        { input: { flow_id: flowId, idempotency_key: `scale-${i}` } },
      );
      created.push(data.create_flow_run.id);
      if (i + 1 === KILL_AFTER) {
        processes[0]!.proc.kill("SIGKILL");
        killedAt = Date.now();
        setTimeout(() => void startReplica("a"), 5_000);
      }
      await Bun.sleep(40);
    }
    expect(new Set(created).size).toBe(RUNS);

    const states = async () =>
      (
        await graphql<{ flow_run: { id: string; state: string }[] }>(
          `query ($ids: [uuid!]) { flow_run(where: { id: { _in: $ids } }, limit: 1000) { id state } }`,
          { ids: created },
        )
      ).flow_run;
    let last: { id: string; state: string }[] = [];
    const deadline = Date.now() + 300_000;
    for (;;) {
      last = await states();
      if (last.length === RUNS && last.every((r) => r.state === "Success")) break;
      if (Date.now() > deadline) throw new Error(`timed out waiting for all ${RUNS} runs to succeed: ${JSON.stringify(countBy(last.map((r) => r.state)))}`);
      await Bun.sleep(500);
    }
    for (const run of last) expect(run.state).toBe("Success");

    // A claim whose answer was lost with replica A (committed, then the replica died) leaves its run
    // Submitted with no process: Lazarus reschedules it and it is taken again. Such a run has two
    // Submitted states with Lazarus's Scheduled between them, and still executed once.
    const { flow_run } = await graphql<{ flow_run: { id: string; states: { state: string; message: string | null }[] }[] }>(
      `query ($ids: [uuid!]) { flow_run(where: { id: { _in: $ids } }, limit: 1000) { id states(order_by: { timestamp: asc }, limit: 20) { state message } } }`,
      { ids: created },
    );
    let rescheduled = 0;
    for (const run of flow_run) {
      const submitted = run.states.filter((st) => st.state === "Submitted").length;
      const byLazarus = run.states.filter((st) => st.state === "Scheduled" && /Lazarus/.test(st.message ?? "")).length;
      expect(submitted).toBe(1 + byLazarus);
      if (byLazarus) rescheduled++;
      const executions = join(faultDir, run.id);
      expect(existsSync(executions)).toBe(true);
      expect(readFileSync(executions, "utf8").trim().split("\n")).toHaveLength(1);
    }

    const auto = await graphql<{ flow_run: { flow_id: string; scheduled_start_time: string }[] }>(
      `{ flow_run(where: { auto_scheduled: { _eq: true } }, limit: 10000) { flow_id scheduled_start_time } }`,
    );
    const keys = auto.flow_run.map((r) => `${r.flow_id} ${r.scheduled_start_time}`);
    expect(auto.flow_run.length).toBeGreaterThan(0);
    expect(new Set(keys).size).toBe(keys.length);

    console.log(
      `multi-node: ${RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s; replica A killed ${((killedAt - started) / 1000).toFixed(1)} s in; ` +
        `proxy ${JSON.stringify(proxy.counts)}; the test's client retried ${retried.count} requests; ${rescheduled} runs rescheduled by Lazarus (a claim lost with A)`,
    );
  }, 400_000);
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
