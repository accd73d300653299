import { BackendClient } from "../client/client.ts";
import { HttpTransport } from "../client/http-transport.ts";
import type { Transport } from "../client/transport.ts";
import { settings } from "../settings.ts";

export interface ClientOptions {
  /** The server; default PREFECTLITE_API_URL, else the embedded database of PREFECTLITE_HOME. */
  apiUrl?: string;
  /** Bearer token; default PREFECTLITE_API_TOKEN. */
  token?: string;
}

/** The embedded backend is imported only when used, so loading a flow never pulls in the server. */
async function embeddedTransport(): Promise<Transport> {
  const { EmbeddedTransport } = await import("../runtime/embedded-transport.ts");
  return EmbeddedTransport.open();
}

/**
 * The backend client of the SDK (Prefect's `prefect.Client`): createProject, createFlowRun,
 * setFlowRunState, graphql, … over HTTP to a server or in-process on the embedded database.
 */
export class Client extends BackendClient {
  constructor(options: ClientOptions = {}) {
    const apiUrl = options.apiUrl ?? settings.apiUrl();
    super(apiUrl ? new HttpTransport(apiUrl, options.token ?? settings.apiToken()) : embeddedTransport);
  }
}
