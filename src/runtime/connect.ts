import type { Backend, BackendLocation } from "../client/backend.ts";
import { ChannelBackend, parentChannel } from "../client/channel-backend.ts";
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

/**
 * A run process's backend when its parent (an agent, `run --execute`) gave it a run channel: the
 * run's reads and writes through the parent, the rest — and everything if the parent goes away —
 * through the backend `connect` would choose. Undefined when this process has no channel.
 */
export function connectThroughParent(options: ConnectOptions = {}): { client: BackendClient; channel: ChannelBackend } | undefined {
  const port = parentChannel();
  if (!port) return undefined;
  const source = chooseBackend(options);
  const apiUrl = options.apiUrl ?? settings.apiUrl();
  const location: BackendLocation = apiUrl
    ? { apiUrl, token: options.token ?? settings.apiToken(), home: settings.home() }
    : { home: settings.home(), databaseUrl: settings.databaseUrl() };
  const open = typeof source === "function" ? source : () => Promise.resolve(source);
  const channel = new ChannelBackend(port, open, location, typeof source === "function" ? undefined : source.baseUrl);
  return { client: new BackendClient(channel), channel };
}
