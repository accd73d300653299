/**
 * The client of scripts/bench/agent-worker.ts's agent runs, on a thread of its own: it creates
 * each run over HTTP (create_flow_run) when told, and answers with the run's id. On serve's own
 * thread the client's requests and JSON would be counted as serve's work.
 */
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";

declare const self: Worker;
let client: BackendClient | undefined;
let flowId = "";

self.onmessage = async (event: MessageEvent<{ url: string; flowId: string } | "create" | "close">) => {
  const m = event.data;
  if (m === "close") {
    await client?.close();
    self.postMessage({ closed: true });
    return;
  }
  if (m === "create") {
    self.postMessage({ id: await client!.createFlowRun({ flowId }) });
    return;
  }
  client = new BackendClient(new HttpBackend(m.url));
  flowId = m.flowId;
  self.postMessage({ ready: true });
};
