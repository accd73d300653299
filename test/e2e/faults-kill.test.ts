/**
 * `kill -9` of the process executing a run, mid-task, with real processes: `serve` (its
 * in-process agent, zombie killer and Lazarus) and the agent's child. The zombie killer ends
 * the lost task run (Retrying: it has a retry left), Lazarus reschedules the run, the agent takes
 * it again, and the new process resumes it: the task that had succeeded is not run again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { HttpBackend } from "../../src/client/http-backend.ts";
import { runCli, tempDir } from "../helpers.ts";
import { FAST_SAFEGUARDS, one, openHome, startCli, until, all, type CliProcess } from "./process-helpers.ts";

const FLOWS = join(import.meta.dir, "fixtures/fault-flows.ts");
let serve: CliProcess | undefined;
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});

describe("a flow-run process killed with SIGKILL mid-task", () => {
  test("is recovered by the zombie killer and Lazarus, finishes Success, and its finished task is not run again", async () => {
    const home = tempDir("prefectlite-fault-home-");
    const dir = tempDir("prefectlite-fault-files-");
    const env = { PREFECTLITE_HOME: home, FAULT_DIR: dir, ...FAST_SAFEGUARDS };
    expect((await runCli(["create", "project", "faults"], { home })).exitCode).toBe(0);
    const registered = await runCli(["register", "-p", FLOWS, "--project", "faults", "--name", "killable"], { home });
    expect(registered.exitCode).toBe(0);

    serve = startCli(["serve", "--port", "0"], env);
    const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
    const client = new BackendClient(new HttpBackend(url!));
    const flow = await client.latestFlow("killable", "faults");
    const runId = await client.createFlowRun({ flowId: flow!.id });

    // Wait until the backend has recorded the first task's success and the second task running.
    const db = await openHome(home);
    try {
      const taskState = async (slug: string) =>
        (await one<{ state: string } | null>(db, "SELECT state FROM task_run WHERE flow_run_id = $r AND task_slug = $s", { r: runId, s: slug }))?.state;
      await until(
        async () => existsSync(join(dir, "blocked")) && (await taskState("count_once-1")) === "Success" && (await taskState("wait_for_release-1")) === "Running",
        "the second task to be under way",
      );
      const pid = Number(readFileSync(join(dir, "blocked"), "utf8"));
      process.kill(pid, "SIGKILL");
      writeFileSync(join(dir, "release"), "");

      const runState = async () => (await one<{ state: string }>(db, "SELECT state FROM flow_run WHERE id = $id", { id: runId })).state;
      await until(async () => (await runState()) === "Success", "the run to be recovered and finish", 45_000);

      expect(readFileSync(join(dir, "count"), "utf8")).toBe("1\n");
      const history = (await all<{ state: string }>(db, "SELECT state FROM flow_run_state WHERE flow_run_id = $id ORDER BY version", { id: runId })).map((r) => r.state);
      expect(history).toEqual(["Scheduled", "Submitted", "Running", "Scheduled", "Submitted", "Running", "Success"]);
      const waited = (
        await all<{ state: string }>(
          db,
          `SELECT s.state FROM task_run_state s JOIN task_run t ON t.id = s.task_run_id
         WHERE t.flow_run_id = $id AND t.task_slug = 'wait_for_release-1' ORDER BY s.version`,
          { id: runId },
        )
      ).map((r) => r.state);
      expect(waited).toEqual(["Pending", "Running", "Retrying", "Running", "Success"]);
      const logs = await all<{ name: string; message: string }>(db, "SELECT name, message FROM log WHERE flow_run_id = $id", { id: runId });
      expect(logs.some((l) => l.name === "ZombieKiller.TaskRun" && l.message.startsWith("No heartbeat detected"))).toBe(true);
      expect(logs.some((l) => l.name === "Lazarus.FlowRun" && l.message === "Rescheduled by a Lazarus process. This is attempt 1.")).toBe(true);
      expect(logs.filter((l) => l.name === "serve" && l.message.startsWith("Submitted for execution: PID"))).toHaveLength(2);
      expect((await one<{ n: number }>(db, "SELECT times_resurrected AS n FROM flow_run WHERE id = $id", { id: runId })).n).toBe(1);
    } finally {
      await db.close();
      await client.close();
    }
  }, 90_000);
});
