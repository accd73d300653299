import { userInfo } from "node:os";
import { RESTART_FLOW_RUN } from "../../client/documents.ts";
import { connect } from "../../runtime/connect.ts";
import { EXIT } from "../exit.ts";
import { writeStdout } from "../../stdio.ts";
import { warnIfNoAgentCovers } from "./agent-coverage.ts";
import { executeInChild } from "./run-execute.ts";

export interface RestartOptions {
  id: string;
  /** Execute the restarted run here, in a child process, like `run --execute` (no agent takes it). */
  execute: boolean;
  apiUrl?: string;
  json: boolean;
}

interface Restarted {
  id: string;
  state: string;
  version: number;
  message: string;
  labels: string[];
  restarted_task_runs: number;
  kept_task_runs: number;
}

/**
 * `prefectlite restart FLOW_RUN_ID [--execute]`: restart_flow_run (a Failed or Cancelled run goes
 * again from its failures), then either leave it Scheduled for an agent (warning when none
 * covers its labels) or, with --execute, execute it here and exit as `run --execute` does.
 */
export async function restartFlowRun(o: RestartOptions): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  try {
    const data = await client.graphql<{ restart_flow_run: Restarted }>(RESTART_FLOW_RUN, {
      input: { flow_run_id: o.id, restarted_by: restartedBy(), agentless: o.execute },
    });
    const run = data.restart_flow_run;
    if (o.json) writeStdout(`${JSON.stringify(run)}\n`);
    else writeStdout(`${describe(run)}\n`);
    if (!o.execute) {
      await warnIfNoAgentCovers(client, run.labels);
      return EXIT.ok;
    }
    writeStdout("Executing flow run...\n");
    return await executeInChild(client, run.id, o.apiUrl);
  } finally {
    await client.close();
  }
}

function describe(run: Restarted): string {
  const again = run.restarted_task_runs === 1 ? "1 task run goes" : `${run.restarted_task_runs} task runs go`;
  const kept = run.kept_task_runs === 1 ? "1 keeps its state" : `${run.kept_task_runs} keep their states`;
  return `Flow run ${run.id} restarted: ${again} again, ${kept}; it is ${run.state}`;
}

/** "alice with prefectlite restart" (the OS user, when there is one). */
function restartedBy(): string {
  try {
    const name = userInfo().username;
    if (name) return `${name} with prefectlite restart`;
  } catch {
    // no user entry (some containers)
  }
  return "prefectlite restart";
}
