import { Agent, DEFAULT_SHUTDOWN_GRACE_MS, type AgentStopResult } from "../agent/agent.ts";
import type { Backend } from "../client/backend.ts";
import { HttpBackend } from "../client/http-backend.ts";
import type { LoopService } from "../loops/loop-service.ts";
import { Lazarus } from "../safeguards/lazarus.ts";
import { ZombieKiller } from "../safeguards/zombie-killer.ts";
import { settings } from "../settings.ts";
import { openBackend, type Backend as EmbeddedDatabase } from "./backend.ts";
import { embeddedBackend } from "./embedded-backend.ts";
import { writeStdout } from "../stdio.ts";

export interface AgentProcessOptions {
  name?: string;
  labels: string[];
  concurrency?: number;
  /** The server to poll (flag or PREFECTLITE_API_URL); without one, the embedded database. */
  apiUrl?: string;
  showFlowLogs?: boolean;
  /** Runs per flow-run process (default PREFECTLITE_AGENT_RUNS_PER_PROCESS). */
  runsPerProcess?: number;
  command?: (flowRunId: string) => string[];
  log?: (line: string) => void;
}

export interface RunningAgentProcess {
  agent: Agent;
  /** Where it takes runs from: the server's URL or the database file. */
  source: string;
  /** Stop claiming, wait up to `graceMs` for the children, interrupt the rest, close. */
  stop(graceMs?: number, hurry?: AbortSignal): Promise<AgentStopResult>;
}

/**
 * `prefectlite agent start`: an agent polling a server every PREFECTLITE_AGENT_POLL_SECONDS, or,
 * with no server, the embedded database of PREFECTLITE_HOME — then this process also runs the
 * zombie killer and Lazarus (a database no `serve` watches still needs them; their versioned
 * writes make several copies harmless).
 */
export async function startAgentProcess(options: AgentProcessOptions): Promise<RunningAgentProcess> {
  const log = options.log ?? ((line: string) => writeStdout(`${line}\n`));
  const apiUrl = options.apiUrl ?? settings.apiUrl();
  let backend: Backend;
  let embedded: EmbeddedDatabase | undefined;
  const loops: LoopService[] = [];
  if (apiUrl) {
    backend = new HttpBackend(apiUrl, settings.apiToken());
  } else {
    embedded = await openBackend(settings.databaseUrl());
    backend = embeddedBackend(embedded);
  }
  const agent = new Agent({
    backend,
    name: options.name,
    labels: options.labels,
    concurrency: options.concurrency,
    showFlowLogs: options.showFlowLogs,
    runsPerProcess: options.runsPerProcess,
    command: options.command,
    log,
  });
  let unsubscribe: (() => void) | undefined;
  if (embedded) {
    // Runs made due by other processes on the database (PostgreSQL: NOTIFY) wake it at once; and
    // at (re)subscribe, in case some were missed meanwhile.
    unsubscribe = embedded.storage.store.events.subscribe(
      () => agent.wake(),
      () => agent.wake(),
    );
    const guards = { onError: log, onChange: log, onRescheduled: () => agent.wake() };
    loops.push(new ZombieKiller(embedded.services, guards), new Lazarus(embedded.services, guards));
  }
  const controller = new AbortController();
  const running = [agent, ...loops].map((loop) => loop.run(controller.signal));
  return {
    agent,
    source: apiUrl ?? embedded!.storage.description,
    async stop(graceMs = DEFAULT_SHUTDOWN_GRACE_MS, hurry?: AbortSignal) {
      controller.abort();
      unsubscribe?.();
      await Promise.all(running);
      const result = await agent.stop(graceMs, hurry);
      await backend.close();
      await embedded?.close();
      return result;
    },
  };
}
