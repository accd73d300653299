import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { SerializedSchedule } from "../../src/core/schedule/schedule.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { createServices, type Services } from "../../src/services/index.ts";
import { openStorage } from "../../src/storage/open.ts";
import { FakeClock, row, serializedFlow } from "../services/fixtures.ts";
import { openTestStorage, type TestStorage } from "../storage-helpers.ts";
import { describeBackends } from "../storage-helpers.ts";

describeBackends((kind) => {
  const HOUR = 3_600_000;
  const hourly: SerializedSchedule = {
    clocks: [{ type: "IntervalClock", intervalMs: HOUR, startDate: null, parameterDefaults: {}, labels: [] }],
  };

  /** A fresh database file with services on `clock`; `db` runs SQL on a connection of its own. */
  async function open(clock: FakeClock) {
    const db = await openTestStorage(kind);
    return { db, services: createServices(db.store, { now: clock.now, maxScheduledRuns: 10 }) };
  }

  /** `count` flows with an hourly schedule, registered inactive (so no run exists yet). */
  async function registerScheduled(services: Services, count: number): Promise<string[]> {
    const projectId = (await services.createProject({ name: `p-${count}-${Math.random()}` })).id;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const f = await services.createFlow({ serializedFlow: serializedFlow({ name: `f${i}`, schedule: hourly }), projectId, setScheduleActive: false });
      ids.push(f.id);
    }
    return ids;
  }

  async function activate(db: TestStorage) {
    await db.sql("UPDATE flow SET is_schedule_active = TRUE");
  }

  const count = async (db: TestStorage, where = "1 = 1") => (await row(db, `SELECT COUNT(*) AS n FROM flow_run WHERE ${where}`)).n as number;
  const duplicates = async (db: TestStorage) =>
    (await row(db, "SELECT COUNT(*) AS n FROM (SELECT flow_id, scheduled_start_time FROM flow_run GROUP BY 1, 2 HAVING COUNT(*) > 1) AS d")).n as number;

  describe("Scheduler", () => {
    test("a pass creates exactly the next N runs of every active schedule, in batches; a second pass creates none", async () => {
      const clock = new FakeClock();
      const { db, services } = await open(clock);
      await registerScheduled(services, 5);
      await activate(db);
      const scheduler = new Scheduler(services, { maxRuns: () => 4, batchSize: 2 });
      expect(await scheduler.runOnce()).toEqual({ flows: 5, created: 20, errors: [] });
      expect(await count(db, "auto_scheduled AND state = 'Scheduled'")).toBe(20);
      expect(await scheduler.runOnce()).toEqual({ flows: 0, created: 0, errors: [] });
      expect(await count(db)).toBe(20);
      await db.close();
    });

    test("a restarted scheduler (a new Scheduler on the same database file) creates no duplicates", async () => {
      const clock = new FakeClock();
      const first = await open(clock);
      await registerScheduled(first.services, 3);
      await activate(first.db);
      expect((await new Scheduler(first.services).runOnce()).created).toBe(30);
      await first.db.storage.close();

      clock.advance(30 * 60_000); // restart half an hour later: nothing new is due yet
      const reopened = await openStorage(first.db.url);
      const second = { db: first.db, services: createServices(reopened.store, { now: clock.now, maxScheduledRuns: 10 }) };
      expect((await new Scheduler(second.services).runOnce()).created).toBe(0);
      clock.advance(HOUR); // an hour on, one new run per flow
      expect((await new Scheduler(second.services).runOnce()).created).toBe(3);
      expect(await count(second.db)).toBe(33);
      expect(await duplicates(second.db)).toBe(0);
      await reopened.close();
      await first.db.close();
    });

    test("two scheduler processes on one database file never create a duplicate run", async () => {
      const clock = new FakeClock();
      const { db, services } = await open(clock);
      await registerScheduled(services, 20);
      await activate(db);
      const worker = join(import.meta.dir, "workers", "scheduler-pass.ts");
      const spawn = () => Bun.spawn([process.execPath, worker, db.url, "5", clock.iso()], { stdout: "pipe", stderr: "pipe" });
      const outputs = await Promise.all(
        [spawn(), spawn()].map(async (p) => {
          const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
          expect(err).toBe("");
          expect(code).toBe(0);
          return JSON.parse(out.trim()) as { created: number };
        }),
      );
      expect(outputs.reduce((n, o) => n + o.created, 0)).toBe(200);
      expect(await count(db)).toBe(200);
      expect(await duplicates(db)).toBe(0);
      await db.close();
    }, 30_000);

    test("a flow that fails to schedule is reported once per distinct message, not every pass", async () => {
      const clock = new FakeClock();
      const { db, services } = await open(clock);
      const [id] = await registerScheduled(services, 1);
      await db.sql("UPDATE flow SET schedule = $s WHERE id = $id", {
        id: id!,
        s: JSON.stringify({ clocks: [{ ...hourly.clocks[0], parameterDefaults: { nope: 1 } }] }),
      });
      await activate(db);
      const messages: string[] = [];
      const scheduler = new Scheduler(services, { onError: (m) => messages.push(m) });
      await scheduler.runOnce();
      await scheduler.runOnce();
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(new RegExp(`^scheduler: flow ${id} could not be scheduled: .*'nope'`));
      await db.close();
    });

    test("while running, onRunsDue listeners are called when a waiting run becomes due; it stops on abort", async () => {
      const db = await openTestStorage(kind);
      const services = createServices(db.store); // the system clock: the alarm waits in real time
      const projectId = (await services.createProject({ name: "p" })).id;
      const flowId = (await services.createFlow({ serializedFlow: serializedFlow(), projectId })).id;
      const scheduler = new Scheduler(services, { intervalMs: () => 60_000 });
      let due = 0;
      const firstDue = new Promise<void>((resolve) => scheduler.onRunsDue(() => (due++, resolve())));
      const controller = new AbortController();
      const loop = scheduler.run(controller.signal);
      expect(await scheduler.nextDueTime()).toBeUndefined();
      const start = new Date(Date.now() + 50);
      await services.createFlowRun({ flowId, scheduledStartTime: start });
      scheduler.runsChanged();
      expect((await scheduler.nextDueTime())?.toISOString()).toBe(start.toISOString());
      await firstDue;
      expect(due).toBe(1);
      // The due run is not announced again (nobody took it, but the alarm looks past it).
      expect(await scheduler.nextDueTime()).toBeUndefined();
      controller.abort();
      await loop;
      expect(due).toBe(1);
      await db.close();
    });
  });
});
