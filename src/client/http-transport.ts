import { PrefectliteError, errorMessage } from "../core/errors.ts";
import { errorFromGraphQL, type GraphQLErrorShape, type HeartbeatTarget, type Transport } from "./transport.ts";

/** GraphQL over HTTP to a prefectlite server (`--api URL`). */
export class HttpTransport implements Transport {
  readonly baseUrl: string;
  private readonly endpoint: string;

  constructor(
    apiUrl: string,
    private readonly token?: string,
    private readonly headers: Record<string, string> = {},
  ) {
    let url: URL;
    try {
      url = new URL(apiUrl);
    } catch {
      throw new PrefectliteError("Usage", `invalid API URL '${apiUrl}': use e.g. http://127.0.0.1:4200`);
    }
    const path = url.pathname.replace(/\/+$/, "");
    this.baseUrl = `${url.origin}${path.replace(/\/graphql$/, "")}`;
    this.endpoint = `${this.baseUrl}/graphql`;
  }

  /** The token and the extra headers every request carries (the heartbeat thread's too). */
  private get sentHeaders(): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...this.headers };
  }

  get heartbeatTarget(): HeartbeatTarget {
    return { kind: "http", endpoint: this.endpoint, headers: this.sentHeaders };
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.sentHeaders },
        body: JSON.stringify({ query, variables }),
      });
    } catch (e) {
      throw new PrefectliteError("Unavailable", `could not reach the prefectlite server at ${this.baseUrl}: ${errorMessage(e)}`);
    }
    if (response.status === 401) throw new PrefectliteError("Usage", `the server at ${this.baseUrl} refused the API token (set PREFECTLITE_API_TOKEN)`);
    let body: { data?: T; errors?: GraphQLErrorShape[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new PrefectliteError("Unavailable", `the server at ${this.baseUrl} answered ${response.status} without JSON`);
    }
    if (body.errors?.length) throw errorFromGraphQL(body.errors);
    if (!response.ok || body.data === undefined) {
      throw new PrefectliteError("Unavailable", `the server at ${this.baseUrl} answered ${response.status}`);
    }
    return body.data;
  }

  close(): void {}
}
