import { errorMessage } from "../core/errors.ts";
import type { StateType } from "../core/state.ts";
import { settings } from "../settings.ts";
import type { Backend } from "../client/backend.ts";
import { failRunLeftUnfinished } from "./process-ended.ts";
import { spawnFlowRunProcess, type ProcessOutcome } from "./process.ts";
import { RunChannelHost } from "./run-channel.ts";
import { RunProcessSupervisor, type SupervisionLimits } from "./supervision.ts";

export interface ChildRunOptions {
  /** Also answers the child's run channel. */
  backend: Backend;
  flowRunId: string;
  /** `prefectlite execute flow-run ID` (run-process/command.ts). */
  command: readonly string[];
  /** run-process/environment.ts's `flowRunProcessEnv`. */
  env: Record<string, string>;
  /** Pass the child's stdout and stderr through (`run --execute`); else dropped, the tail of stderr kept. */
  showOutput?: boolean;
  /** The logger name of what is logged on the run (`prefectlite.execute`). */
  logger: string;
  /** Told what the supervision did and why the run was failed, if it was. */
  say: (line: string) => void;
  /** Pass SIGINT/SIGTERM of this process on to the child; the run then ends Failed, "interrupted". */
  forwardSignals?: boolean;
  /** How often the run's state is read (default PREFECTLITE_AGENT_POLL_SECONDS). */
  checkEveryMs?: number;
  limits?: () => Partial<SupervisionLimits>;
}

export interface ChildRunResult {
  outcome: ProcessOutcome;
  /** The run's state after its process ended (undefined: it no longer exists). */
  state: StateType | undefined;
}

/**
 * Execute a run that no agent will take (`run --execute`, an agentless sub-flow) in a child
 * process, the way an agent does: the caller has claimed it (Submitted); its process is
 * supervised (start deadline, run ended elsewhere, cancel grace: run-process/supervision.ts);
 * when it ends before its run finished, the run is failed with its unfinished task runs. The
 * child reaches the backend through this process (its run channel).
 * Throws only when the process cannot be started.
 */
export async function executeInChildProcess(o: ChildRunOptions): Promise<ChildRunResult> {
  const host = new RunChannelHost(o.backend, { warn: o.say });
  const child = spawnFlowRunProcess(o.command, o.env, { showOutput: o.showOutput, channel: { host, flowRunId: o.flowRunId } });
  const supervisor = new RunProcessSupervisor(o.backend, { logger: o.logger, say: (_id, line) => o.say(line), limits: o.limits });
  supervisor.watch(o.flowRunId, child);
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void supervisor
      .check({ force: true })
      .catch(() => undefined) // the backend is unreachable for a moment: the next turn tries again
      .finally(() => (checking = false));
  }, o.checkEveryMs ?? settings.agentPollSeconds() * 1000);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    child.kill(signal);
  };
  if (o.forwardSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  let outcome: ProcessOutcome;
  try {
    outcome = await child.exited;
  } finally {
    host.close();
    clearInterval(timer);
    if (o.forwardSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
  // Killed by the supervision: it said why, and ended the run when the rule says so.
  if (!supervisor.forget(child)) {
    try {
      const ended = await failRunLeftUnfinished(o.backend, o.flowRunId, outcome, { interrupted, logger: o.logger });
      if (ended.changed) o.say(ended.message);
    } catch (e) {
      o.say(`Could not mark flow run ${o.flowRunId} Failed: ${errorMessage(e)}`);
    }
  }
  const final = (await o.backend.runStandings([o.flowRunId]).catch(() => undefined))?.get(o.flowRunId);
  return { outcome, state: final?.state };
}
