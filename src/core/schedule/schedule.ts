import { validationError } from "../errors.ts";
import { clockFromJSON, type Clock, type SerializedClock } from "./clocks.ts";

export interface SerializedSchedule {
  clocks: SerializedClock[];
}

/** A scheduled start: when, and what its clock adds to the run. */
export interface ScheduledEvent {
  startTime: Date;
  parameterDefaults: Record<string, unknown>;
  labels: string[];
}

export class Schedule {
  readonly clocks: readonly Clock[];
  constructor(options: { clocks: Clock[] }) {
    if (!options.clocks?.length) throw validationError("a Schedule needs at least one clock");
    this.clocks = [...options.clocks];
  }

  /** The next `n` events after `after`, merged over all clocks in time order (ties keep clock order). */
  next(n: number, after: Date): ScheduledEvent[] {
    const events: ScheduledEvent[] = [];
    for (const clock of this.clocks) {
      for (const startTime of clock.next(n, after)) {
        events.push({ startTime, parameterDefaults: clock.parameterDefaults, labels: clock.labels });
      }
    }
    events.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    return events.slice(0, n);
  }

  toJSON(): SerializedSchedule {
    return { clocks: this.clocks.map((c) => c.toJSON()) };
  }

  static fromJSON(s: SerializedSchedule): Schedule {
    return new Schedule({ clocks: (s.clocks ?? []).map(clockFromJSON) });
  }
}
