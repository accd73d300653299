import type { StateType } from "../core/state.ts";
import type { Backend } from "../client/backend.ts";
import type { ProcessOutcome } from "./process.ts";

/**
 * What to write when a flow run's process ends. An agent's run is left to the backend's
 * safeguards (Lazarus reschedules it, an agent resumes it without redoing finished tasks): the
 * agent only reports the crash. A run no agent can take — an agentless `run --execute`, a sub-flow
 * executed agentlessly because no live agent covers it — is failed at once by
 * {@link failRunLeftUnfinished}, with its unfinished task runs, saying how its process ended.
 */

/** "was killed by SIGKILL" / "exited with code 3". */
export function describeExit(outcome: Pick<ProcessOutcome, "code" | "signal">): string {
  return outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
}

/** The last line the process wrote on stderr (its crash, usually), or "". */
export function lastStderrLine(outcome: Pick<ProcessOutcome, "stderrTail">): string {
  return outcome.stderrTail.trim().split("\n").at(-1) ?? "";
}

/** Why a run no one else resumes ended with its process. */
export function processEndedMessage(outcome: Pick<ProcessOutcome, "code" | "signal">, interrupted: boolean): string {
  return interrupted ? "Flow run received an interrupt signal." : `The flow run process ${describeExit(outcome)} before the run finished.`;
}

/**
 * After the process of a run no one else resumes has ended: fail the run and its unfinished task
 * runs, unless it finished. Returns whether it was failed, and the run's state after.
 */
export async function failRunLeftUnfinished(
  backend: Pick<Backend, "endAbandonedRun">,
  flowRunId: string,
  outcome: Pick<ProcessOutcome, "code" | "signal">,
  options: { interrupted: boolean; logger: string },
): Promise<{ state: StateType; changed: boolean; message: string }> {
  const message = processEndedMessage(outcome, options.interrupted);
  return { ...(await backend.endAbandonedRun(flowRunId, "Failed", message, options.logger)), message };
}
