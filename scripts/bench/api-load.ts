export {};
/**
 * A load generator in its own process: CONCURRENCY loops sending one kind of request to a
 * server for DURATION_MS, after a short warm-up. Prints one JSON line { kind, requests, ms, rps, errors }.
 * Usage: bun scripts/bench/api-load.ts URL KIND CONCURRENCY DURATION_MS [FLOW_ID]
 *   KIND: health (plain Hono JSON route) | typename ({ __typename }) | create_flow_run
 */
const [url = "", kind = "health", concText = "16", durText = "3000", flowId = ""] = process.argv.slice(2);
const concurrency = Number(concText);
const duration = Number(durText);

const CREATE = `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`;

function request(): Promise<Response> {
  if (kind === "health") return fetch(`${url}/health`);
  const body =
    kind === "typename"
      ? { query: "{ __typename }" }
      : { query: CREATE, variables: { input: { flow_id: flowId, parameters: { name: "bench" } } } };
  return fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function loop(until: number, counts: { ok: number; errors: number }): Promise<void> {
  while (performance.now() < until) {
    const res = await request();
    const text = await res.text();
    if (res.ok && !text.includes('"errors"')) counts.ok++;
    else counts.errors++;
  }
}

const warm = { ok: 0, errors: 0 };
const warmUntil = performance.now() + 500;
await Promise.all(Array.from({ length: concurrency }, () => loop(warmUntil, warm)));
const counts = { ok: 0, errors: 0 };
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, () => loop(started + duration, counts)));
const ms = performance.now() - started;
console.log(JSON.stringify({ kind, requests: counts.ok, errors: counts.errors, ms, rps: (counts.ok / ms) * 1000 }));
