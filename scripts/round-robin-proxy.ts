/**
 * A small round-robin HTTP load balancer for the multi-node test and the scale-out benchmark:
 * each request goes to the next upstream; one whose connection is refused (a replica that is
 * down) is skipped for the next one. A request an upstream accepted and then dropped (killed
 * mid-answer) is answered 502, as a real load balancer would: retrying a write it may have made
 * is the client's decision (prefectlite's clients retry with their own write ids).
 */
export interface RoundRobinProxy {
  readonly url: string;
  /** Requests answered by an upstream, and requests answered 502 by the proxy. */
  readonly counts: { forwarded: number; failed: number; skippedUpstreams: number };
  stop(): Promise<void>;
}

export function startRoundRobinProxy(upstreams: readonly string[]): RoundRobinProxy {
  if (!upstreams.length) throw new Error("a proxy needs at least one upstream");
  const counts = { forwarded: 0, failed: 0, skippedUpstreams: 0 };
  let next = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      const headers = new Headers(request.headers);
      headers.delete("host");
      const first = next++ % upstreams.length;
      for (let attempt = 0; attempt < upstreams.length; attempt++) {
        const upstream = upstreams[(first + attempt) % upstreams.length]!;
        try {
          const answer = await fetch(`${upstream}${url.pathname}${url.search}`, { method: request.method, headers, body, redirect: "manual" });
          counts.forwarded++;
          return new Response(await answer.arrayBuffer(), { status: answer.status, headers: answer.headers });
        } catch (error) {
          if (!isRefused(error)) break;
          counts.skippedUpstreams++;
        }
      }
      counts.failed++;
      return new Response("bad gateway: no upstream answered", { status: 502 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    counts,
    stop: () => server.stop(true),
  };
}

/** The upstream never took the request (nothing listens): safe to send it elsewhere. */
function isRefused(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ConnectionRefused" || code === "ECONNREFUSED";
}
