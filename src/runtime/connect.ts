import type { Backend } from "../client/backend.ts";
import { BackendClient } from "../client/client.ts";
import { HttpBackend } from "../client/http-backend.ts";
import { settings } from "../settings.ts";

export interface ConnectOptions {
  /** The server; default PREFECTLITE_API_URL, else the embedded database of PREFECTLITE_HOME. */
  apiUrl?: string;
  /** Bearer token; default PREFECTLITE_API_TOKEN. */
  token?: string;
}

/**
 * The one choice of backend: the server at `apiUrl` (flag, else PREFECTLITE_API_URL; "" for none)
 * over HTTP,
 * or else the embedded database of PREFECTLITE_HOME in-process (opened on first use, so that a
 * command that never reaches the backend never opens it).
 */
export function connect(options: ConnectOptions = {}): BackendClient {
  return new BackendClient(chooseBackend(options));
}

/** The Backend `connect` uses: the HTTP one at once, the embedded one opened lazily. */
export function chooseBackend(options: ConnectOptions = {}): Backend | (() => Promise<Backend>) {
  const apiUrl = options.apiUrl ?? settings.apiUrl();
  if (apiUrl) return new HttpBackend(apiUrl, options.token ?? settings.apiToken());
  return async () => {
    const { openEmbeddedBackend } = await import("./embedded-backend.ts");
    return openEmbeddedBackend();
  };
}
