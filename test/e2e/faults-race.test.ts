/**
 * Three real `prefectlite agent start` processes on one database file race over thirty runs:
 * every run executes exactly once (each execution appends a line to a file named after its
 * run), and runs whose labels an agent does not cover are never taken by it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir } from "../helpers.ts";
import { all, one, openHome, startCli, until, type CliProcess } from "./process-helpers.ts";

const FLOWS = join(import.meta.dir, "fixtures/fault-flows.ts");
let agents: CliProcess[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});

describe("three agents racing over thirty runs", () => {
  test("each run executes exactly once, and no agent takes a run its labels do not cover", async () => {
    const home = tempDir("prefectlite-race-home-");
    const dir = tempDir("prefectlite-race-files-");
    // Fast polls; the safeguards keep their defaults (a short Lazarus would rightly reschedule a
    // run whose process is slow to start on a busy machine, and that is not what is tested here).
    const env = { PREFECTLITE_HOME: home, FAULT_DIR: dir, PREFECTLITE_AGENT_POLL_SECONDS: "0.2" };
    expect((await runCli(["create", "project", "race"], { home })).exitCode).toBe(0);
    expect((await runCli(["register", "-p", FLOWS, "--project", "race", "--name", "recorded"], { home })).exitCode).toBe(0);

    agents = [
      startCli(["agent", "start", "--name", "plain", "--concurrency", "4"], env),
      startCli(["agent", "start", "--name", "x-one", "--label", "x", "--concurrency", "4"], env),
      startCli(["agent", "start", "--name", "x-two", "--label", "x", "--concurrency", "4"], env),
    ];
    await Promise.all(agents.map((a) => a.waitFor(/started: labels/)));

    const db = await openHome(home);
    try {
      const flowId = (await one<{ id: string }>(db, "SELECT id FROM flow WHERE name = 'recorded'")).id;
      const create = async (labels: string[]) => (await db.services.createFlowRun({ flowId, labels })).id;
      const uncovered = [await create(["y"]), await create(["x", "y"])];
      const xRuns: string[] = [];
      for (let i = 0; i < 10; i++) xRuns.push(await create(["x"]));
      const plainRuns: string[] = [];
      for (let i = 0; i < 20; i++) plainRuns.push(await create([]));
      const runs = [...plainRuns, ...xRuns];

      const finished = async () =>
        (await one<{ n: number }>(db, `SELECT COUNT(*) AS n FROM flow_run WHERE state = 'Success' AND labels IN ('[]', '["x"]')`)).n;
      await until(async () => (await finished()) === runs.length, "all thirty runs to succeed", 90_000);
      // Every agent has polled since (so the uncovered runs were offered to all of them).
      const createdAt = new Date().toISOString();
      await until(
        async () => (await one<{ n: number }>(db, "SELECT COUNT(*) AS n FROM agent WHERE last_queried > $t", { t: createdAt })).n === 3,
        "every agent to poll again",
      );

      for (const id of runs) {
        expect(existsSync(join(dir, id))).toBe(true);
        expect(readFileSync(join(dir, id), "utf8").trim().split("\n")).toHaveLength(1);
        const submitted = await one<{ n: number }>(db, "SELECT COUNT(*) AS n FROM flow_run_state WHERE flow_run_id = $id AND state = 'Submitted'", { id });
        expect(submitted.n).toBe(1);
      }
      expect(readdirSync(dir).filter((f) => !runs.includes(f))).toEqual([]);

      const takers = await all<{ name: string; labels: string }>(
        db,
        `SELECT a.name, fr.labels FROM flow_run fr JOIN agent a ON a.id = fr.agent_id`,
      );
      expect(takers.filter((t) => t.labels === '["x"]').every((t) => t.name === "x-one" || t.name === "x-two")).toBe(true);
      expect(takers).toHaveLength(30);
      for (const id of uncovered) {
        expect(await one<{ state: string; agent_id: string | null }>(db, "SELECT state, agent_id FROM flow_run WHERE id = $id", { id })).toEqual({
          state: "Scheduled",
          agent_id: null,
        });
      }
      // More than one agent did the work (the race was real).
      expect(new Set(takers.map((t) => t.name)).size).toBeGreaterThan(1);
    } finally {
      await db.close();
    }
  }, 120_000);
});
