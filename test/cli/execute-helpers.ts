/** A flow file registered with a temp home through the real CLI, and a client to read what runs left. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { runCli, tempDir } from "../helpers.ts";

export interface CliFixture {
  home: string;
  path: string;
  cli(args: string[], env?: Record<string, string>): ReturnType<typeof runCli>;
  /** A client on the home's embedded database (open it after the CLI created it). */
  client(): BackendClient;
}

export async function registeredFlow(source: string): Promise<CliFixture> {
  const home = tempDir("prefectlite-home-");
  const path = join(tempDir("prefectlite-flows-"), "flow.ts");
  writeFileSync(path, source);
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { home, env: { PREFECTLITE_HEARTBEAT_SECONDS: "1", ...env } });
  const created = await cli(["create", "project", "test"]);
  if (created.exitCode !== 0) throw new Error(created.stderr);
  const registered = await cli(["register", "-p", path, "--project", "test"]);
  if (registered.exitCode !== 0) throw new Error(registered.stdout + registered.stderr);
  return { home, path, cli, client: () => new BackendClient(() => openEmbeddedBackend(join(home, "prefectlite.db"))) };
}

export interface RunRow {
  id: string;
  state: string;
  labels: string[];
  serialized_state: { message?: string };
  task_runs: Array<{ task_slug: string; map_index: number; state: string }>;
  logs: Array<{ level: string; message: string }>;
}

export async function runs(client: BackendClient): Promise<RunRow[]> {
  const data = await client.graphql<{ flow_run: RunRow[] }>(
    // Limits on the nested lists keep the rows estimate within PREFECTLITE_MAX_QUERY_ROWS (they multiply).
    `query { flow_run(order_by: { created: asc }, limit: 100) { id state labels serialized_state
      task_runs(order_by: [{ task_slug: asc }, { map_index: asc }], limit: 100) { task_slug map_index state }
      logs(order_by: { timestamp: asc }, limit: 500) { level message } } }`,
  );
  return data.flow_run;
}
