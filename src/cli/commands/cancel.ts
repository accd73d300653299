import { runApiFor } from "../../client/run-api.ts";
import { connect } from "../../runtime/connect.ts";
import { EXIT } from "../exit.ts";
import { writeStdout } from "../../stdio.ts";

const SAYS: Record<string, string> = {
  Cancelling: "is Cancelling: its runner stops it and its unfinished task runs end Cancelled",
  Cancelled: "is Cancelled",
};

/** `prefectlite cancel FLOW_RUN_ID`: cancel_flow_run, then say the state the run is in. */
export async function cancelFlowRun(o: { id: string; apiUrl?: string; json: boolean }): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  try {
    const api = await runApiFor(client);
    const state = await api.cancel(o.id);
    if (o.json) writeStdout(`${JSON.stringify({ id: o.id, state })}\n`);
    else writeStdout(`Flow run ${o.id} ${SAYS[state] ?? `had already finished: ${state}`}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
