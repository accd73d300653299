import type { BackendClient } from "../../client/client.ts";
import type { Backend } from "../../client/backend.ts";
import { TASK_RUN_TALLY } from "../../client/documents.ts";
import { describeCancel, type TaskRunTally } from "../../core/cancel-report.ts";
import type { StateType } from "../../core/state.ts";
import { connect } from "../../runtime/connect.ts";
import { settings } from "../../settings.ts";
import { EXIT } from "../exit.ts";
import { writeStdout } from "../../stdio.ts";

/** How long a run's process may take to see a cancel (its watch polls every second). */
const NOTICE_MS = 1_000;

/**
 * `prefectlite cancel FLOW_RUN_ID`: cancel_flow_run; a running run only ends once its process
 * has stopped its work, so wait a little for that (--wait, 3 s), then say what is stored:
 * how many task runs completed and how many were cancelled, or that the process has not
 * stopped yet and when it will be.
 */
export async function cancelFlowRun(o: { id: string; apiUrl?: string; json: boolean; waitSeconds: number }): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  try {
    const api = await client.backend();
    const asked = Date.now();
    let state = await api.cancel(o.id);
    if (state === "Cancelling" && o.waitSeconds > 0) state = await untilEnded(api, o.id, o.waitSeconds * 1000);
    const tally = await taskRunTally(client, o.id);
    const stopsInSeconds = (settings.cancelKillSeconds() * 1000 + NOTICE_MS - (Date.now() - asked)) / 1000;
    if (o.json) writeStdout(`${JSON.stringify({ id: o.id, state, task_runs: tally })}\n`);
    else writeStdout(`${describeCancel({ id: o.id, state, tally, stopsInSeconds })}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

/** The run's state once it is no longer Cancelling, or after `waitMs`. */
async function untilEnded(api: Backend, id: string, waitMs: number): Promise<StateType> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const state = (await api.readFlowRunState(id))?.state ?? "Cancelling";
    if (state !== "Cancelling" || Date.now() >= deadline) return state;
    await Bun.sleep(100);
  }
}

async function taskRunTally(client: BackendClient, id: string): Promise<TaskRunTally> {
  type Count = { aggregate: { count: number } };
  const data = await client.graphql<Record<"completed" | "failed" | "cancelled" | "all", Count>>(TASK_RUN_TALLY, { id });
  const [completed, failed, cancelled, all] = [data.completed, data.failed, data.cancelled, data.all].map((c) => c.aggregate.count) as [number, number, number, number];
  return { completed, failed, cancelled, unfinished: all - completed - failed - cancelled };
}
