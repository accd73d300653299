import { PrefectliteError } from "../../core/errors.ts";
import { startAgentProcess } from "../../runtime/agent-process.ts";
import { settings } from "../../settings.ts";
import { writeStdout } from "../../stdio.ts";

export interface AgentStartOptions {
  labels: string[];
  concurrency?: number;
  name?: string;
  apiUrl?: string;
  showFlowLogs: boolean;
  runsPerProcess?: number;
}

/**
 * `prefectlite agent start [--label L]… [--concurrency N] [--name N]`: run until SIGINT/SIGTERM.
 * On a signal it takes no more runs, waits up to 30 s for the runs it is executing, then
 * interrupts the rest (a second signal interrupts at once); the zombie killer and Lazarus resume
 * interrupted runs without re-running their finished tasks.
 */
export async function agentStart(o: AgentStartOptions): Promise<number> {
  if (o.concurrency !== undefined && (!Number.isInteger(o.concurrency) || o.concurrency < 1)) {
    throw new PrefectliteError("Usage", `--concurrency must be a whole number ≥ 1 (got '${o.concurrency}')`);
  }
  const running = await startAgentProcess({ name: o.name, labels: o.labels, concurrency: o.concurrency, apiUrl: o.apiUrl, showFlowLogs: o.showFlowLogs, runsPerProcess: o.runsPerProcess });
  const { agent } = running;
  writeStdout(
    `Agent '${agent.agentName}' started: labels ${JSON.stringify(agent.labels)}, concurrency ${agent.concurrency}, ` +
      `polling ${running.source} every ${settings.agentPollSeconds()} s; ` +
      `${agent.runsPerProcess === 1 ? "a process per run" : `up to ${agent.runsPerProcess} runs per process`}\n`,
  );
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  const executing = agent.running.length;
  writeStdout(
    `${signal}: taking no more runs${executing ? `; waiting up to 30 s for ${executing} flow run(s) (again to interrupt them now)` : ""}\n`,
  );
  const hurry = new AbortController();
  const again = () => hurry.abort();
  process.once("SIGINT", again);
  process.once("SIGTERM", again);
  const result = await running.stop(30_000, hurry.signal);
  process.off("SIGINT", again);
  process.off("SIGTERM", again);
  if (result.interrupted.length) {
    writeStdout(`Interrupted ${result.interrupted.length} flow run(s): the zombie killer and Lazarus will resume them\n`);
  }
  return 0;
}
