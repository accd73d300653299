/** The heartbeat thread of a backend over HTTP (a Worker module: see heartbeat-worker-loop.ts). */
import { FLOW_RUN_STATE_ONLY, HEARTBEAT } from "./documents.ts";
import { serveHeartbeatWatches } from "./heartbeat-worker-loop.ts";

import type { HttpThreadTarget } from "./heartbeat-thread.ts";

async function graphql(target: HttpThreadTarget, query: string, variables: Record<string, unknown>, timeoutMs: number): Promise<any> {
  const response = await fetch(target.endpoint, {
    method: "POST",
    headers: { ...target.headers, "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  // The message never carries the request's headers (the token).
  if (!response.ok || text.includes('"errors"')) throw new Error(`the server answered ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

serveHeartbeatWatches<HttpThreadTarget>({
  key: (target) => target.endpoint,
  open: async (target) => ({
    beat: async (flowRunId, timeoutMs) => void (await graphql(target, HEARTBEAT, { input: { flow_run_id: flowRunId } }, timeoutMs)),
    state: async (flowRunId, timeoutMs) => (await graphql(target, FLOW_RUN_STATE_ONLY, { id: flowRunId }, timeoutMs)).data?.flow_run_by_pk?.state,
    close: async () => {},
  }),
});
