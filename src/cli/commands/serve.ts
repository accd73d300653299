import { PrefectliteError } from "../../core/errors.ts";
import { serve } from "../../runtime/serve.ts";
import { writeStdout } from "../../stdio.ts";

export interface ServeCommandOptions {
  host: string;
  port: number;
  /** --database: overrides PREFECTLITE_DATABASE_URL. */
  databaseUrl?: string;
  /** --no-migrate: refuse a database behind this binary instead of migrating it. */
  migrate: boolean;
  watchDir?: string;
  project: string;
  scheduler: boolean;
  /** The in-process agent (`--no-agent` turns it off). */
  agent: boolean;
  /** --runs-per-process: runs each of the in-process agent's processes executes (default PREFECTLITE_AGENT_RUNS_PER_PROCESS). */
  agentRunsPerProcess?: number;
  archiveDeleted: boolean;
}

/** `prefectlite serve`: run until SIGINT/SIGTERM, then stop cleanly. */
export async function serveCommand(options: ServeCommandOptions): Promise<number> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new PrefectliteError("Usage", `--port must be a whole number from 0 to 65535 (got '${options.port}')`);
  }
  const running = await serve(options);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  writeStdout("Shutting down...\n");
  await running.stop();
  return 0;
}
