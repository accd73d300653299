/**
 * `serve` on a database another process writes: a 2 s write transaction elsewhere does not stall
 * serve's event loop (the group commit waits the lock out asynchronously), and a write sent
 * meanwhile is committed once the lock is free; a big map executed on the embedded database
 * (`run --execute`, no --api) leaves serve answering reads and writes throughout.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { serve } from "../../src/runtime/serve.ts";
import { settings } from "../../src/settings.ts";
import { serveDuringMap } from "../../scripts/bench/serve-during-map.ts";
import { useTempHome } from "../helpers.ts";

useTempHome();
const HOLDER = join(import.meta.dir, "workers/hold-write-lock.ts");

async function graphql(url: string, query: string): Promise<{ data?: any; errors?: Array<{ message: string }> }> {
  const response = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  return (await response.json()) as { data?: any; errors?: Array<{ message: string }> };
}

test("while another process holds the write lock for 2 s, serve's loop keeps turning and answering; a write sent meanwhile commits after", async () => {
  const server = await serve({ host: "127.0.0.1", port: 0, project: "test", scheduler: false, agent: false, log: () => {} });
  try {
    const holder = Bun.spawn([process.execPath, HOLDER, settings.databasePath(), "2000"], { stdout: "pipe", stderr: "inherit" });
    const reader = holder.stdout.getReader();
    let said = "";
    while (!said.includes("held\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the lock holder ended first: ${said}`);
      said += new TextDecoder().decode(value);
    }
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const write = graphql(server.url, 'mutation { create_project(input: { name: "during-the-hold" }) { id } }');
    // Answered during the hold: the health check, and a read of the database.
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    const read = await graphql(server.url, "query { project(limit: 10) { name } }");
    expect(read.errors).toBeUndefined();
    expect(read.data.project.map((p: { name: string }) => p.name)).not.toContain("during-the-hold");
    const written = await write;
    const heldFor = await holder.exited;
    clearInterval(timer);
    expect(heldFor).toBe(0);
    expect(written.errors).toBeUndefined();
    // ~200 ticks of a 10 ms interval fit in the hold; a loop blocked on the lock would see ~0.
    expect(ticks).toBeGreaterThanOrEqual(20);
    const after = await graphql(server.url, "query { project(limit: 10) { name } }");
    expect(after.data.project.map((p: { name: string }) => p.name)).toContain("during-the-hold");
  } finally {
    await server.stop();
  }
});

test("a 20,000-item map executed on the embedded database leaves serve on the same home answering reads and writes, with no error", async () => {
  const result = await serveDuringMap(20_000);
  expect(result.runExitCode).toBe(0);
  expect(result.runTail).toContain("Flow run succeeded!");
  expect(result.reads.errors).toBe(0);
  expect(result.writes.errors).toBe(0);
  expect(result.reads.answered).toBeGreaterThan(20);
  expect(result.writes.answered).toBeGreaterThan(20);
}, 240_000);
