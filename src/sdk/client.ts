import { BackendClient } from "../client/client.ts";
import { settings } from "../settings.ts";

export interface ClientOptions {
  /** The server; default PREFECTLITE_API_URL, else the embedded database of PREFECTLITE_HOME. */
  apiUrl?: string;
  /** Bearer token; default PREFECTLITE_API_TOKEN. */
  token?: string;
}

/**
 * The backend client of the SDK (Prefect's `prefect.Client`): createProject, createFlowRun,
 * setFlowRunState, graphql, … over HTTP to a server or in-process on the embedded database.
 * The backend is chosen by runtime's connect, imported only when used, so that loading a flow
 * never pulls in the server; the environment is read when the Client is made.
 */
export class Client extends BackendClient {
  constructor(options: ClientOptions = {}) {
    const chosen = { apiUrl: options.apiUrl ?? settings.apiUrl() ?? "", token: options.token ?? settings.apiToken() };
    super(async () => {
      const { chooseBackend } = await import("../runtime/connect.ts");
      const backend = chooseBackend(chosen);
      return typeof backend === "function" ? backend() : backend;
    });
  }
}
