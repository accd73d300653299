/**
 * Helpers for backed-run tests: a flow file written into a temp folder, registered with the
 * backend of the test's PREFECTLITE_HOME (embedded, or a real server over HTTP), runs created
 * through the client, and everything the run left in the database read back.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { registerFlow } from "../../src/client/register.ts";
import { loadFlowsFromFile } from "../../src/loader/load.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { serve, type RunningServe } from "../../src/runtime/serve.ts";
import { settings } from "../../src/settings.ts";
import { tempDir } from "../helpers.ts";

export type Mode = "embedded" | "http";

export interface BackedFixture {
  client: BackendClient;
  /** The flow file (change it to make the registered flow stale). */
  path: string;
  /** A folder for the flow's side effects (counter files). */
  work: string;
  flowId: string;
  createRun(input?: { parameters?: Record<string, unknown>; labels?: string[] }): Promise<string>;
  close(): Promise<void>;
}

/** Write `source` as a flow file, register its flows in project "test", and return a client. */
export async function backedFixture(source: string, options: { mode?: Mode; name?: string } = {}): Promise<BackedFixture> {
  const folder = tempDir("prefectlite-flows-");
  const work = join(folder, "work");
  mkdirSync(work);
  const path = join(folder, "flow.ts");
  writeFileSync(path, source);
  let server: RunningServe | undefined;
  let client: BackendClient;
  if (options.mode === "http") {
    server = await serve({ host: "127.0.0.1", port: 0, project: "test", scheduler: false, agent: false, log: () => {} });
    client = new BackendClient(new HttpBackend(server.url));
  } else {
    client = new BackendClient(() => openEmbeddedBackend(settings.databaseUrl()));
  }
  await client.createProject("test");
  const loaded = await loadFlowsFromFile(path, { fresh: true });
  const flow = options.name ? loaded.flows.find((f) => f.name === options.name)! : loaded.flows[0]!;
  const { id: flowId } = await registerFlow(client, flow, "test");
  return {
    client,
    path,
    work,
    flowId,
    createRun: (input = {}) => client.createFlowRun({ flowId, parameters: { dir: work, ...input.parameters }, labels: input.labels }),
    close: async () => {
      await client.close();
      await server?.stop();
    },
  };
}

export interface StoredTaskRun {
  id: string;
  task_slug: string;
  map_index: number;
  state: string;
  version: number;
  serialized_state: { type: string; message?: string; result?: { type: string; location: string } | null };
}

export interface StoredRun {
  state: string;
  version: number;
  heartbeat: string | null;
  serialized_state: { message?: string };
  states: Array<{ state: string; message: string | null; timestamp: string }>;
  task_runs: StoredTaskRun[];
  logs: Array<{ level: string; message: string; task_run_id: string | null }>;
}

export async function readRun(client: BackendClient, id: string): Promise<StoredRun> {
  const data = await client.graphql<{ flow_run_by_pk: StoredRun }>(
    `query ($id: uuid!) { flow_run_by_pk(id: $id) {
      state version heartbeat serialized_state
      states(order_by: { version: asc }) { state message timestamp }
      task_runs(order_by: [{ task_slug: asc }, { map_index: asc }]) { id task_slug map_index state version serialized_state }
      logs(order_by: { timestamp: asc }) { level message task_run_id }
    } }`,
    { id },
  );
  return data.flow_run_by_pk;
}

/** task run key ("slug" / "slug[i]") → state type. */
export function taskStates(run: StoredRun): Record<string, string> {
  return Object.fromEntries(run.task_runs.map((t) => [t.map_index < 0 ? t.task_slug : `${t.task_slug}[${t.map_index}]`, t.state]));
}

/** How many times a task appended to its counter file `name` under `work`. */
export function calls(work: string, name: string): number {
  try {
    return readFileSync(join(work, name), "utf8").length;
  } catch {
    return 0;
  }
}

/** The body of a task that counts its calls in `${dir}/<name>` (one character per call). */
export const COUNT = (name: string) => `appendFileSync(join(context().parameters.dir as string, ${JSON.stringify(name)}), "x")`;

/** Poll `check` every 20 ms until it returns true (fails after `timeoutMs`, a safety net, not a timing assertion). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Set states with `rerun: true` (an explicit re-run of a finished run or task run). */
export async function rerun(client: BackendClient, flowRunId: string, taskRunIds: string[]): Promise<void> {
  const run = await readRun(client, flowRunId);
  const states = run.task_runs
    .filter((t) => taskRunIds.includes(t.id))
    .map((t) => ({ task_run_id: t.id, version: t.version, state: { type: "Pending", message: "Re-run" }, rerun: true }));
  if (states.length) {
    await client.graphql(`mutation ($input: set_task_run_states_input!) { set_task_run_states(input: $input) { states { id } } }`, {
      input: { states },
    });
  }
  await client.graphql(`mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id } } }`, {
    input: { states: [{ flow_run_id: flowRunId, version: run.version, state: { type: "Scheduled", message: "Re-run" }, rerun: true }] },
  });
}
