import { describe, expect, test } from "bun:test";
import { PrefectliteError } from "../../src/core/errors.ts";
import { Flow } from "../../src/core/flow.ts";
import { CronClock, IntervalClock, clockFromJSON } from "../../src/core/schedule/clocks.ts";
import { Schedule } from "../../src/core/schedule/schedule.ts";
import { serializeFlow, serializedHash } from "../../src/core/serialize.ts";
import { task } from "../../src/core/task.ts";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

function validationMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PrefectliteError);
    expect((e as PrefectliteError).code).toBe("Validation");
    return (e as Error).message;
  }
  throw new Error("expected a Validation error");
}

describe("IntervalClock", () => {
  test('"10m" is anchored at the Unix epoch: runs fall on :00, :10, :20…, strictly after the given time', () => {
    const clock = new IntervalClock("10m");
    expect(iso(clock.next(3, new Date("2024-01-01T12:00:00.000Z")))).toEqual([
      "2024-01-01T12:10:00.000Z",
      "2024-01-01T12:20:00.000Z",
      "2024-01-01T12:30:00.000Z",
    ]);
    expect(iso(clock.next(1, new Date("2024-01-01T12:03:17.250Z")))).toEqual(["2024-01-01T12:10:00.000Z"]);
  });

  test('seconds as "30s" and milliseconds as a number mean the same interval', () => {
    const after = new Date("2024-01-01T12:00:05.000Z");
    expect(iso(new IntervalClock("30s").next(2, after))).toEqual(["2024-01-01T12:00:30.000Z", "2024-01-01T12:01:00.000Z"]);
    expect(iso(new IntervalClock(30_000).next(2, after))).toEqual(iso(new IntervalClock("30s").next(2, after)));
  });

  test("a startDate anchors the runs; before it, the first run is the startDate itself", () => {
    const clock = new IntervalClock("1h", { startDate: "2024-06-01T09:15:00.000Z" });
    expect(iso(clock.next(2, new Date("2024-01-01T00:00:00.000Z")))).toEqual(["2024-06-01T09:15:00.000Z", "2024-06-01T10:15:00.000Z"]);
    expect(iso(clock.next(1, new Date("2024-06-02T00:00:00.000Z")))).toEqual(["2024-06-02T00:15:00.000Z"]);
  });

  test("a bad interval or start date is one Validation error", () => {
    expect(validationMessage(() => new IntervalClock("ten minutes"))).toMatch(/invalid interval 'ten minutes'/);
    expect(validationMessage(() => new IntervalClock(0))).toMatch(/at least 1 ms/);
    expect(validationMessage(() => new IntervalClock("1m", { startDate: "someday" }))).toMatch(/invalid startDate 'someday'/);
  });
});

describe("CronClock", () => {
  test("runs at the cron times in UTC without a timezone", () => {
    const clock = new CronClock("0 */6 * * *");
    expect(iso(clock.next(3, new Date("2024-01-01T12:00:00.000Z")))).toEqual([
      "2024-01-01T18:00:00.000Z",
      "2024-01-02T00:00:00.000Z",
      "2024-01-02T06:00:00.000Z",
    ]);
  });

  test("a bad cron string or timezone is one clear Validation error", () => {
    const bad = validationMessage(() => new CronClock("61 * * * *"));
    expect(bad).toMatch(/^invalid cron schedule '61 \* \* \* \*': .*minute/);
    expect(bad).not.toContain("\n");
    expect(validationMessage(() => new CronClock("not a cron"))).toMatch(/^invalid cron schedule 'not a cron'/);
    expect(validationMessage(() => new CronClock("0 * * * *", { timezone: "Mars/Olympus" }))).toMatch(/Mars\/Olympus/);
  });

  test("America/New_York, spring forward: 02:00 does not exist on 10 March 2024, so that day runs at 03:00 EDT", () => {
    const clock = new CronClock("0 2 * * *", { timezone: "America/New_York" });
    expect(iso(clock.next(4, new Date("2024-03-08T12:00:00.000Z")))).toEqual([
      "2024-03-09T07:00:00.000Z", // 02:00 EST (UTC-5)
      "2024-03-10T07:00:00.000Z", // 03:00 EDT: the skipped hour
      "2024-03-11T06:00:00.000Z", // 02:00 EDT (UTC-4)
      "2024-03-12T06:00:00.000Z",
    ]);
  });

  test("America/New_York, fall back: 01:30 happens twice on 3 November 2024 and runs once, at the first", () => {
    const clock = new CronClock("30 1 * * *", { timezone: "America/New_York" });
    expect(iso(clock.next(4, new Date("2024-11-01T12:00:00.000Z")))).toEqual([
      "2024-11-02T05:30:00.000Z", // 01:30 EDT
      "2024-11-03T05:30:00.000Z", // 01:30 EDT, not again at 01:30 EST (06:30Z)
      "2024-11-04T06:30:00.000Z", // 01:30 EST
      "2024-11-05T06:30:00.000Z",
    ]);
  });

  test("Europe/Berlin across both changes of 2024", () => {
    const spring = new CronClock("0 2 * * *", { timezone: "Europe/Berlin" });
    expect(iso(spring.next(3, new Date("2024-03-29T12:00:00.000Z")))).toEqual([
      "2024-03-30T01:00:00.000Z", // 02:00 CET
      "2024-03-31T01:00:00.000Z", // 03:00 CEST: 02:00 was skipped
      "2024-04-01T00:00:00.000Z", // 02:00 CEST
    ]);
    const autumn = new CronClock("30 2 * * *", { timezone: "Europe/Berlin" });
    expect(iso(autumn.next(3, new Date("2024-10-25T12:00:00.000Z")))).toEqual([
      "2024-10-26T00:30:00.000Z", // 02:30 CEST
      "2024-10-27T00:30:00.000Z", // the first 02:30, once
      "2024-10-28T01:30:00.000Z", // 02:30 CET
    ]);
  });
});

describe("Schedule", () => {
  test("merges its clocks in time order, each event carrying its clock's parameter defaults and labels", () => {
    const schedule = new Schedule({
      clocks: [
        new IntervalClock("1h", { parameterDefaults: { size: "big" }, labels: ["b", "a"] }),
        new CronClock("30 * * * *", { parameterDefaults: { size: "small" } }),
      ],
    });
    const events = schedule.next(3, new Date("2024-01-01T12:00:00.000Z"));
    expect(events.map((e) => [e.startTime.toISOString(), e.parameterDefaults, e.labels])).toEqual([
      ["2024-01-01T12:30:00.000Z", { size: "small" }, []],
      ["2024-01-01T13:00:00.000Z", { size: "big" }, ["a", "b"]],
      ["2024-01-01T13:30:00.000Z", { size: "small" }, []],
    ]);
  });

  test("a schedule without clocks is refused", () => {
    expect(validationMessage(() => new Schedule({ clocks: [] }))).toMatch(/at least one clock/);
  });

  test("serializes and round-trips through JSON, timezone, start date, defaults and labels included", () => {
    const schedule = new Schedule({
      clocks: [
        new CronClock("0 2 * * *", { timezone: "Europe/Berlin", parameterDefaults: { n: 1 }, labels: ["x"] }),
        new IntervalClock("90s", { startDate: "2024-02-01T00:00:00.000Z", parameterDefaults: { n: 2 } }),
      ],
    });
    const json = JSON.parse(JSON.stringify(schedule.toJSON()));
    expect(json).toEqual({
      clocks: [
        { type: "CronClock", cron: "0 2 * * *", timezone: "Europe/Berlin", parameterDefaults: { n: 1 }, labels: ["x"] },
        { type: "IntervalClock", intervalMs: 90_000, startDate: "2024-02-01T00:00:00.000Z", parameterDefaults: { n: 2 }, labels: [] },
      ],
    });
    const back = Schedule.fromJSON(json);
    expect(back.toJSON()).toEqual(schedule.toJSON());
    const after = new Date("2024-03-29T12:00:00.000Z");
    expect(back.next(5, after)).toEqual(schedule.next(5, after));
  });

  test("clockFromJSON refuses an unknown clock type and a bad cron with a Validation error", () => {
    expect(validationMessage(() => clockFromJSON({ type: "Sundial" } as never))).toMatch(/unknown clock type 'Sundial'/);
    expect(validationMessage(() => clockFromJSON({ type: "CronClock", cron: "* * *", parameterDefaults: {}, labels: [] }))).toMatch(
      /invalid cron schedule/,
    );
  });

  test("a flow's schedule is part of its serialization and of its hash", () => {
    const noop = task(function noop() {});
    const build = () => void noop();
    const plain = new Flow("f", build);
    const hourly = new Flow("f", build, { schedule: new Schedule({ clocks: [new IntervalClock("1h")] }) });
    const daily = new Flow("f", build, { schedule: new Schedule({ clocks: [new IntervalClock("1d")] }) });
    expect(serializeFlow(plain).schedule).toBeNull();
    expect(serializeFlow(hourly).schedule).toEqual(hourly.schedule!.toJSON());
    const hashes = new Set([plain, hourly, daily].map((f) => serializedHash(serializeFlow(f))));
    expect(hashes.size).toBe(3);
    const again = new Flow("f", build, { schedule: new Schedule({ clocks: [new IntervalClock(3_600_000)] }) });
    expect(serializedHash(serializeFlow(again))).toBe(serializedHash(serializeFlow(hourly)));
  });
});
