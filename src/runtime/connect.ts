import { BackendClient } from "../client/client.ts";
import { HttpTransport } from "../client/http-transport.ts";
import { settings } from "../settings.ts";

/**
 * A client for the backend a command should use: the server at `apiUrl` (flag, else
 * PREFECTLITE_API_URL) over HTTP, or else the embedded database of PREFECTLITE_HOME in-process.
 */
export function connect(options: { apiUrl?: string; token?: string } = {}): BackendClient {
  const apiUrl = options.apiUrl ?? settings.apiUrl();
  if (apiUrl) return new BackendClient(new HttpTransport(apiUrl, options.token ?? settings.apiToken()));
  return new BackendClient(async () => {
    const { EmbeddedTransport } = await import("./embedded-transport.ts");
    return EmbeddedTransport.open();
  });
}
