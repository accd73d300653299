import { Cron } from "croner";
import { parseDuration, type Duration } from "../duration.ts";
import { errorMessage, validationError } from "../errors.ts";

export interface ClockOptions {
  /** Parameter values for runs this clock creates (over the flow's defaults). */
  parameterDefaults?: Record<string, unknown>;
  /** Labels for runs this clock creates. */
  labels?: string[];
}

export interface SerializedClock {
  type: "CronClock" | "IntervalClock";
  cron?: string;
  timezone?: string | null;
  intervalMs?: number;
  startDate?: string | null;
  parameterDefaults: Record<string, unknown>;
  labels: string[];
}

export interface Clock {
  readonly parameterDefaults: Record<string, unknown>;
  readonly labels: string[];
  /** The first `n` start times strictly after `after`. */
  next(n: number, after: Date): Date[];
  toJSON(): SerializedClock;
}

export class CronClock implements Clock {
  readonly parameterDefaults: Record<string, unknown>;
  readonly labels: string[];
  private readonly cron: Cron;
  constructor(
    readonly expression: string,
    options: ClockOptions & { timezone?: string } = {},
  ) {
    this.timezone = options.timezone;
    this.parameterDefaults = { ...(options.parameterDefaults ?? {}) };
    this.labels = [...(options.labels ?? [])].sort();
    try {
      this.cron = new Cron(expression, { paused: true, ...(options.timezone ? { timezone: options.timezone } : {}) });
      this.cron.nextRun(new Date(0));
    } catch (e) {
      throw validationError(`invalid cron schedule '${expression}': ${errorMessage(e)}`);
    }
  }
  readonly timezone: string | undefined;

  next(n: number, after: Date): Date[] {
    return this.cron.nextRuns(n, after);
  }

  toJSON(): SerializedClock {
    return {
      type: "CronClock",
      cron: this.expression,
      timezone: this.timezone ?? null,
      parameterDefaults: this.parameterDefaults,
      labels: this.labels,
    };
  }
}

export class IntervalClock implements Clock {
  readonly intervalMs: number;
  /** Runs fall on startDate + k × interval; default the Unix epoch, so "10m" means :00, :10, :20… */
  readonly startDate: Date;
  readonly parameterDefaults: Record<string, unknown>;
  readonly labels: string[];
  constructor(interval: Duration, options: ClockOptions & { startDate?: Date | string } = {}) {
    this.intervalMs = parseDuration(interval, "interval");
    if (this.intervalMs < 1) throw validationError("an IntervalClock's interval must be at least 1 ms");
    this.startDate = options.startDate === undefined ? new Date(0) : new Date(options.startDate);
    if (Number.isNaN(this.startDate.getTime())) throw validationError(`invalid startDate '${options.startDate}'`);
    this.parameterDefaults = { ...(options.parameterDefaults ?? {}) };
    this.labels = [...(options.labels ?? [])].sort();
  }

  next(n: number, after: Date): Date[] {
    const start = this.startDate.getTime();
    const t = after.getTime();
    let k = t < start ? 0 : Math.floor((t - start) / this.intervalMs) + 1;
    const out: Date[] = [];
    for (; out.length < n; k++) out.push(new Date(start + k * this.intervalMs));
    return out;
  }

  toJSON(): SerializedClock {
    return {
      type: "IntervalClock",
      intervalMs: this.intervalMs,
      startDate: this.startDate.toISOString(),
      parameterDefaults: this.parameterDefaults,
      labels: this.labels,
    };
  }
}

export function clockFromJSON(c: SerializedClock): Clock {
  const options = { parameterDefaults: c.parameterDefaults ?? {}, labels: c.labels ?? [] };
  if (c.type === "CronClock") {
    return new CronClock(String(c.cron), { ...options, ...(c.timezone ? { timezone: c.timezone } : {}) });
  }
  if (c.type === "IntervalClock") {
    return new IntervalClock(Number(c.intervalMs), { ...options, ...(c.startDate ? { startDate: c.startDate } : {}) });
  }
  throw validationError(`unknown clock type '${(c as { type: unknown }).type}'`);
}
