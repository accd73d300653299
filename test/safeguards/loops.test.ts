import { afterEach, describe, expect, test } from "bun:test";
import { Lazarus } from "../../src/safeguards/lazarus.ts";
import { ZombieKiller } from "../../src/safeguards/zombie-killer.ts";
import { flowRun, openTestBackend, runningRun, setTask, taskRun } from "./fixtures.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const ENV = ["PREFECTLITE_HEARTBEAT_SECONDS", "PREFECTLITE_ZOMBIE_MISSED_HEARTBEATS", "PREFECTLITE_LAZARUS_AFTER_SECONDS"];
  afterEach(async () => {
    for (const name of ENV) delete process.env[name];
  });

  describe("the safeguard loops", () => {
    test("the zombie killer's staleness is missed beats × heartbeat seconds, from the environment", async () => {
      process.env.PREFECTLITE_HEARTBEAT_SECONDS = "0.5";
      process.env.PREFECTLITE_ZOMBIE_MISSED_HEARTBEATS = "3";
      expect(ZombieKiller.staleAfterMs()).toBe(1500);
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      await setTask(b, run.load, "Running");
      const lines: string[] = [];
      const killer = new ZombieKiller(b.services, { onChange: (l) => lines.push(l) });
      b.clock.advance(1499);
      await killer.runOnce();
      expect((await taskRun(b, run.load)).state).toBe("Running");
      b.clock.advance(2);
      expect((await killer.runOnce()).failed).toBe(1);
      expect(lines).toEqual(["Zombie killer: 0 task run(s) set Retrying, 1 Failed, 0 cancelling run(s) Cancelled (no heartbeat)"]);
    });

    test("Lazarus reads PREFECTLITE_LAZARUS_AFTER_SECONDS and tells its listener when it rescheduled", async () => {
      process.env.PREFECTLITE_LAZARUS_AFTER_SECONDS = "2";
      const b = await openTestBackend({ kind });
      const run = await runningRun(b);
      let woken = 0;
      const lazarus = new Lazarus(b.services, { onRescheduled: () => woken++ });
      b.clock.advance(1999);
      expect((await lazarus.runOnce()).rescheduled).toBe(0);
      expect(woken).toBe(0);
      b.clock.advance(2);
      expect((await lazarus.runOnce()).rescheduled).toBe(1);
      expect(woken).toBe(1);
      expect((await flowRun(b, run.runId)).state).toBe("Scheduled");
    });

    test("run() repeats passes until its signal aborts", async () => {
      let passes = 0;
      const services = { killZombies: async () => (passes++, { retried: 0, failed: 0, cancelled: 0 }) };
      const killer = new ZombieKiller(services, { intervalMs: () => 1 });
      const controller = new AbortController();
      const running = killer.run(controller.signal);
      while (passes < 3) await new Promise((r) => setTimeout(r, 1));
      controller.abort();
      await running;
      const after = passes;
      await new Promise((r) => setTimeout(r, 5));
      expect(passes).toBe(after);
    });
  });
});
