import { LoopService } from "../loops/loop-service.ts";
import type { ScheduleAllResult, Services } from "../services/index.ts";
import { settings } from "../settings.ts";
import { DueRunAlarm } from "./due-alarm.ts";

export interface SchedulerOptions {
  /** Runs kept ahead per schedule; default PREFECTLITE_SCHEDULER_MAX_RUNS (10). */
  maxRuns?: () => number;
  /** Time between passes; default PREFECTLITE_LOOP_SECONDS (10 s). */
  intervalMs?: () => number;
  /**
   * Flows topped up per transaction (default 20). Between batches the pass yields to the event
   * loop, so a pass creating thousands of runs never holds the database or the process for long.
   */
  batchSize?: number;
  onError?: (message: string) => void;
}

type SchedulerServices = Pick<Services, "scheduleAll" | "nextDueAt" | "now">;


/**
 * The scheduler loop: each pass tops up every active schedule to its next N runs (one cheap
 * query when nothing is running low). While `run()` is going it also keeps a timer on the next
 * due run and tells `onRunsDue` listeners the moment one becomes due.
 */
export class Scheduler extends LoopService {
  private readonly listeners = new Set<() => void>();
  private readonly alarm: DueRunAlarm;
  private readonly maxRuns: () => number;
  private readonly batchSize: number;
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly services: SchedulerServices,
    options: SchedulerOptions = {},
  ) {
    super("scheduler", options.intervalMs ?? (() => settings.loopSeconds() * 1000), options.onError);
    this.maxRuns = options.maxRuns ?? (() => settings.schedulerMaxRuns());
    this.batchSize = Math.max(1, options.batchSize ?? 20);
    this.alarm = new DueRunAlarm(
      (after) => services.nextDueAt(after),
      () => this.notifyDue(),
      () => services.now(),
    );
  }

  /** One pass: create missing runs; errors of single flows are reported once per distinct message. */
  async runOnce(): Promise<ScheduleAllResult> {
    const maxRuns = this.maxRuns();
    // Unless another process is running this pass now (then `skipped`).
    const total = await this.services.scheduleAll({ maxRuns, batchSize: this.batchSize });
    for (const { flowId, message } of total.errors) {
      if (this.reported.get(flowId) === message) continue;
      this.reported.set(flowId, message);
      this.onError(`scheduler: flow ${flowId} could not be scheduled: ${message}`);
    }
    this.alarm.arm(); // wait for the runs just created (a no-op unless run() is going)
    return total;
  }

  /** Call `listener` whenever a waiting run becomes due (while `run()` is going). Returns an unsubscribe. */
  onRunsDue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** When the next waiting run becomes due (after the last due notification). */
  nextDueTime(): Promise<Date | undefined> {
    return this.alarm.next();
  }

  /** Runs were created or rescheduled elsewhere (API, CLI): look again for the next due time. */
  runsChanged(): void {
    this.alarm.arm();
  }

  override async run(signal: AbortSignal): Promise<void> {
    this.alarm.start();
    try {
      await super.run(signal);
    } finally {
      this.alarm.stop();
    }
  }

  private notifyDue(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (e) {
        this.onError(`scheduler: a runs-due listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
