import type { GraphQLSchema } from "graphql";
import { PrefectliteError, errorMessage } from "../core/errors.ts";
import { AllowedHosts } from "./allowed-hosts.ts";
import { createApp, MAX_BODY_BYTES, type ContextFactory } from "./app.ts";

export interface ServerOptions {
  /** Default 127.0.0.1. Any other address requires a token. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  token?: string | undefined;
  /** Host names served besides the defaults (PREFECTLITE_ALLOWED_HOSTS; see allowed-hosts.ts). */
  allowedHosts?: readonly string[];
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

/** Bun's default is 10 s; see startServer. */
export const IDLE_TIMEOUT_SECONDS = 45;

/** True unless `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function requiresToken(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return false;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !(v4 && v4[1] === "127" && v4.slice(1).every((o) => Number(o) <= 255));
}

/**
 * Serve the app with Bun. Refuses a non-loopback host without a token (SPEC §5), and a port
 * another process listens on (Bun would otherwise share it: two servers answering in turn).
 */
export function startServer(options: ServerOptions): RunningServer {
  const host = options.host ?? "127.0.0.1";
  if (requiresToken(host) && !options.token) {
    throw new PrefectliteError(
      "Usage",
      `serving on ${host} (not a loopback address) needs an API token: set PREFECTLITE_API_TOKEN, or serve on 127.0.0.1`,
    );
  }
  // Built before binding, so a bad PREFECTLITE_ALLOWED_HOSTS entry stops `serve` at once; built
  // again with the port bound (0 picks one). No request is handled before Bun.serve returns.
  let allowedHosts = AllowedHosts.forServer(host, options.port, options.allowedHosts);
  const app = createApp({
    schema: options.schema,
    contextFactory: options.contextFactory,
    token: options.token,
    allowedHosts: { allows: (h) => allowedHosts.allows(h) },
  });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: host,
      port: options.port,
      reusePort: false,
      fetch: app.fetch,
      // Above the app's own limit, so the app answers 413 with its message.
      maxRequestBodySize: MAX_BODY_BYTES * 4,
      development: false,
      // Seconds a connection may stay silent: longer than a remote agent's long poll
      // (wait_for_flow_runs, services/run-wait.ts: at most 30 s), which sends nothing meanwhile.
      idleTimeout: IDLE_TIMEOUT_SECONDS,
    });
  } catch (e) {
    throw listenError(e, host, options.port);
  }
  const port = server.port!;
  allowedHosts = AllowedHosts.forServer(host, port, options.allowedHosts);
  const urlHost = host.includes(":") ? `[${host.replace(/^\[|\]$/g, "")}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    stop: () => server.stop(true),
  };
}

function listenError(e: unknown, host: string, port: number): PrefectliteError {
  const code = (e as { code?: string } | undefined)?.code;
  if (code === "EADDRINUSE") {
    return new PrefectliteError("Conflict", `port ${port} is already in use on ${host} (another prefectlite serve?): stop that process or choose another --port`);
  }
  if (code === "EACCES") return new PrefectliteError("Usage", `not allowed to listen on ${host}:${port} (ports below 1024 need privileges): choose another --port`);
  if (code === "EADDRNOTAVAIL") return new PrefectliteError("Usage", `cannot listen on ${host}: it is not an address of this machine`);
  return new PrefectliteError("Unavailable", `cannot listen on ${host}:${port}: ${errorMessage(e)}`);
}
