import { errorMessage } from "../core/errors.ts";
import { isFinishedType } from "../core/state.ts";
import { settings } from "../settings.ts";
import type { AbandonedRunState, Backend, RunLogLine, RunStanding } from "../client/backend.ts";
import type { FlowRunProcess } from "./process.ts";

/** How long a process may outlive its run ending elsewhere (the safeguards) before it is killed. */
export const DEFAULT_ENDED_RUN_GRACE_MS = 5_000;
/** The runs of watched processes are read at most this often (a pass may come with every wake). */
const CHECK_EVERY_MS = 500;

export interface SupervisionLimits {
  /** How long a process may leave its run Submitted (loading, importing the flow file). */
  startTimeoutMs: number;
  /** How long it may outlive its run finishing, being rescheduled or deleted elsewhere. */
  endedRunGraceMs: number;
  /** How long it may go on once its run is Cancelling (the runner stops within a second or two). */
  cancelGraceMs: number;
}

/** The limits from the settings (PREFECTLITE_AGENT_START_TIMEOUT_SECONDS, PREFECTLITE_CANCEL_GRACE_SECONDS). */
export function supervisionLimits(overrides: Partial<SupervisionLimits> = {}): SupervisionLimits {
  return {
    startTimeoutMs: overrides.startTimeoutMs ?? settings.agentStartTimeoutSeconds() * 1000,
    endedRunGraceMs: overrides.endedRunGraceMs ?? DEFAULT_ENDED_RUN_GRACE_MS,
    cancelGraceMs: overrides.cancelGraceMs ?? settings.cancelKillSeconds() * 1000,
  };
}

/** What the supervisor remembers of one process. */
export interface ProcessWatch {
  launchedAt: number;
  /** When its run was first seen gone from it (finished, rescheduled, deleted). */
  leftSince?: number;
  /** When its run was first seen Cancelling. */
  cancellingSince?: number;
}

/** Kill the process, and end its run `end` (when given), saying `message`. */
export interface KillVerdict {
  message: string;
  end?: AbandonedRunState;
}

const seconds = (ms: number) => `${ms / 1000} s`;

/**
 * The rules of a flow run's process, given where its run stands (`undefined`: deleted). Its run
 * was Submitted when it started (claimed by an agent, `run --execute` or an agentless parent):
 * - still Submitted after the start timeout: it hangs before the run started (at import) — killed,
 *   the run Failed;
 * - Cancelling for the cancel grace period: the runner did not stop (a task in a synchronous
 *   stretch) — killed, the run and its unfinished task runs Cancelled;
 * - finished, rescheduled (Scheduled: someone else takes it) or deleted for the ended-run grace
 *   period: it should have exited — killed, the run left as it is.
 * Updates `watch`'s since-times; undefined means leave it alone.
 */
export function judgeRunProcess(watch: ProcessWatch, run: RunStanding | undefined, pid: number, now: number, limits: SupervisionLimits): KillVerdict | undefined {
  const state = run?.state;
  if (state === "Submitted" && now - watch.launchedAt >= limits.startTimeoutMs) {
    return {
      message: `The flow run process (PID ${pid}) did not start the run within ${seconds(limits.startTimeoutMs)} (PREFECTLITE_AGENT_START_TIMEOUT_SECONDS): killed it; does the flow file hang at import?`,
      end: "Failed",
    };
  }
  if (state === "Cancelling") {
    watch.leftSince = undefined;
    watch.cancellingSince ??= now;
    if (now - watch.cancellingSince < limits.cancelGraceMs) return undefined;
    return {
      message: `The flow run was cancelled, but its process (PID ${pid}) was still running ${seconds(limits.cancelGraceMs)} later (PREFECTLITE_CANCEL_GRACE_SECONDS): killed it`,
      end: "Cancelled",
    };
  }
  watch.cancellingSince = undefined;
  if (!(state === undefined || state === "Scheduled" || isFinishedType(state))) {
    watch.leftSince = undefined;
    return undefined;
  }
  watch.leftSince ??= now;
  if (now - watch.leftSince < limits.endedRunGraceMs) return undefined;
  const where = run ? `is ${run.state}` : "no longer exists";
  return { message: `The flow run ${where}, but its process (PID ${pid}) was still alive ${seconds(limits.endedRunGraceMs)} later: killed it` };
}

interface Watched {
  flowRunId: string;
  watch: ProcessWatch;
  killedBecause?: string;
}

export interface RunProcessSupervisorOptions {
  /** The log lines' logger name (the agent's name, `prefectlite.execute`). */
  logger: string;
  /** Told each thing it does, for the watcher's own output. */
  say: (flowRunId: string, line: string) => void;
  limits?: () => Partial<SupervisionLimits>;
}

/**
 * Watches flow runs' processes and applies {@link judgeRunProcess} on each `check()` (the agent's
 * passes; a timer for `run --execute` and agentless sub-flows): it kills a process (SIGKILL, its
 * whole process group), ends the run when the rule says so, and logs why on the run.
 */
export class RunProcessSupervisor {
  private readonly watched = new Map<FlowRunProcess, Watched>();
  private lastCheck = 0;

  constructor(
    private readonly backend: Pick<Backend, "runStandings" | "endAbandonedRun" | "writeRunLogs">,
    private readonly options: RunProcessSupervisorOptions,
  ) {}

  watch(flowRunId: string, process: FlowRunProcess, launchedAt = Date.now()): void {
    this.watched.set(process, { flowRunId, watch: { launchedAt } });
  }

  /** Stop watching it (it ended); returns why it was killed, if it was. */
  forget(process: FlowRunProcess): string | undefined {
    const watched = this.watched.get(process);
    this.watched.delete(process);
    return watched?.killedBecause;
  }

  /** Why it was killed, if it was. */
  killedBecause(process: FlowRunProcess): string | undefined {
    return this.watched.get(process)?.killedBecause;
  }

  /** Kill it now (SIGKILL), saying why; the caller decides what becomes of its run. */
  kill(process: FlowRunProcess, why: string): void {
    const watched = this.watched.get(process);
    if (watched) watched.killedBecause = why;
    this.options.say(watched?.flowRunId ?? "", why);
    process.kill("SIGKILL");
  }

  /** One pass over the watched processes (at most one every 500 ms unless `force`). */
  async check(options: { force?: boolean } = {}): Promise<void> {
    const now = Date.now();
    if (this.watched.size === 0 || (!options.force && now - this.lastCheck < CHECK_EVERY_MS)) return;
    this.lastCheck = now;
    const live = [...this.watched].filter(([, w]) => !w.killedBecause);
    if (live.length === 0) return;
    const standings = await this.backend.runStandings([...new Set(live.map(([, w]) => w.flowRunId))]);
    const limits = supervisionLimits(this.options.limits?.());
    const lines: RunLogLine[] = [];
    for (const [process, w] of live) {
      if (w.killedBecause || !this.watched.has(process)) continue;
      const run = standings.get(w.flowRunId);
      const verdict = judgeRunProcess(w.watch, run, process.pid, now, limits);
      if (!verdict) continue;
      this.kill(process, verdict.message);
      if (verdict.end) {
        await this.backend.endAbandonedRun(w.flowRunId, verdict.end, verdict.message, this.options.logger).catch((e) => {
          this.options.say(w.flowRunId, `could not end flow run ${w.flowRunId} ${verdict.end}: ${errorMessage(e)}`);
        });
      } else if (run) lines.push({ flowRunId: w.flowRunId, level: "WARNING", message: verdict.message, name: this.options.logger });
    }
    if (lines.length) await this.backend.writeRunLogs(lines).catch((e) => this.options.say(lines[0]!.flowRunId, `could not write run logs: ${errorMessage(e)}`));
  }
}
