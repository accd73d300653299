import type { GraphQLSchema } from "graphql";
import { PrefectliteError, errorMessage } from "../core/errors.ts";
import { createApp, MAX_BODY_BYTES, type ContextFactory } from "./app.ts";

export interface ServerOptions {
  /** Default 127.0.0.1. Any other address requires a token. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  token?: string | undefined;
  schema: GraphQLSchema;
  contextFactory: ContextFactory;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:4200 (the port actually bound). */
  url: string;
  port: number;
  /** Stop listening and close open connections. */
  stop(): Promise<void>;
}

/** True unless `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function requiresToken(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return false;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !(v4 && v4[1] === "127" && v4.slice(1).every((o) => Number(o) <= 255));
}

/** Serve the app with Bun. Refuses a non-loopback host without a token (SPEC §5). */
export function startServer(options: ServerOptions): RunningServer {
  const host = options.host ?? "127.0.0.1";
  if (requiresToken(host) && !options.token) {
    throw new PrefectliteError(
      "Usage",
      `serving on ${host} (not a loopback address) needs an API token: set PREFECTLITE_API_TOKEN, or serve on 127.0.0.1`,
    );
  }
  const app = createApp({ schema: options.schema, contextFactory: options.contextFactory, token: options.token });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: host,
      port: options.port,
      fetch: app.fetch,
      // Above the app's own limit, so the app answers 413 with its message.
      maxRequestBodySize: MAX_BODY_BYTES * 4,
      development: false,
    });
  } catch (e) {
    throw new PrefectliteError("Unavailable", `cannot listen on ${host}:${options.port}: ${errorMessage(e)}`);
  }
  const port = server.port!;
  const urlHost = host.includes(":") ? `[${host.replace(/^\[|\]$/g, "")}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    stop: () => server.stop(true),
  };
}
