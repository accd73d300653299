import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { embeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { Agent, type AgentOptions } from "../../src/agent/agent.ts";
import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { serializedFlow } from "../services/fixtures.ts";
import { tempDir } from "../helpers.ts";
import { sqlOn } from "../storage-helpers.ts";

export const recordingChild = (flowRunId: string) => [process.execPath, join(import.meta.dir, "fixtures/recording-child.ts"), "execute", "flow-run", flowRunId];

/** Wait (polling every 5 ms) until `check` holds; fails after `ms` with `what`. No timing is asserted. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

export interface AgentWorld {
  home: string;
  records: string;
  backend: Backend;
  flowId(options?: { labels?: string[]; env?: Record<string, string> }): Promise<string>;
  run(flowId: string, labels?: string[]): Promise<string>;
  state(runId: string): Promise<string>;
  /** One SQL statement on the world's database (assertions, setup): its rows. */
  sql<T = Record<string, unknown>>(query: string, params?: Record<string, unknown>): Promise<T[]>;
  /** What the recording child was started with, once it has started. */
  record(runId: string): { argv: string[]; pid: number; env: Record<string, string> } | undefined;
  release(runId: string): void;
  agent(options?: Partial<AgentOptions>): Agent;
  close(): Promise<void>;
}

let flows = 0;

/** A database file in a temp PREFECTLITE_HOME with a project, and in-process agents over it. */
export async function agentWorld(childEnv: Record<string, string> = {}): Promise<AgentWorld> {
  const home = tempDir("prefectlite-agent-");
  const records = tempDir("prefectlite-agent-records-");
  const url = `sqlite:${join(home, "prefectlite.db")}`;
  const backend = await openBackend(url);
  const raw = sqlOn(url);
  const projectId = (await backend.services.createProject({ name: "agents" })).id;
  const saved: Record<string, string | undefined> = {};
  const env = { AGENT_TEST_RECORD_DIR: records, ...childEnv };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  const agents: Agent[] = [];
  return {
    home,
    records,
    backend,
    async flowId(options = {}) {
      const flow = serializedFlow({ name: `agent-flow-${++flows}`, labels: options.labels });
      if (options.env) flow.runConfig = { ...flow.runConfig, env: options.env };
      return (await backend.services.createFlow({ serializedFlow: flow, projectId })).id;
    },
    run: async (flowId, labels) => (await backend.services.createFlowRun({ flowId, labels })).id,
    state: async (runId) => (await raw.sql<{ state: string }>("SELECT state FROM flow_run WHERE id = $id", { id: runId }))[0]!.state,
    sql: (query, params) => raw.sql(query, params),
    record(runId) {
      const path = join(records, `${runId}.json`);
      return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
    },
    release: (runId) => writeFileSync(join(records, `${runId}.release`), ""),
    agent(options = {}) {
      const agent = new Agent({
        backend: embeddedBackend(backend, { home: home }),
        command: recordingChild,
        log: () => {},
        ...options,
      });
      agents.push(agent);
      return agent;
    },
    async close() {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      raw.close();
      await backend.close();
    },
  };
}
