import type { BackendClient } from "../../client/client.ts";
import { WATCH_POLL } from "../../client/documents.ts";
import { diagnoseWaitingRun, healthyWithinMs } from "../../core/agent-diagnosis.ts";
import { isFinishedType, isSuccessfulType, type StateType } from "../../core/state.ts";
import { formatLogLine } from "../../engine/log-format.ts";
import { connect } from "../../runtime/connect.ts";
import { settings } from "../../settings.ts";
import { EXIT } from "../exit.ts";
import { createRunAndPrintCard, type BackendRunOptions } from "./run-backend.ts";
import { readAgents, warnIfNoAgentCovers } from "./agent-coverage.ts";
import { writeStdout } from "../../stdio.ts";

/** Exit code when the user stops watching with Ctrl-C (the run goes on). */
export const EXIT_STOPPED_WATCHING = 130;
/** How far back each poll looks again, so a batch written late (write-behind) is still shown. */
const LOOKBACK_MS = 5_000;
const MIN_POLL_MS = 200;
const MAX_POLL_MS = 2_000;
const WARNING_REPEAT_MS = 30_000;
/**
 * Entries are printed once they are this old, so a batch of logs written behind (the runner
 * flushes every 200 ms) still lands in time order; when the run finishes, everything is printed.
 */
const SETTLE_MS = 600;
/**
 * After the final state, one more look this much later: a runner writes its buffered logs before
 * its own final state, but a run ended from outside (a cancel) may still flush a batch (the
 * runner flushes every 200 ms).
 */
const FINAL_SETTLE_MS = 250;

interface Entry {
  id: string;
  timestamp: string;
  level: string;
  message: string;
}

interface WatchPoll {
  flow_run_by_pk: {
    state: StateType;
    labels: string[];
    scheduled_start_time: string;
    states: Array<{ id: string; timestamp: string; state: string; message: string | null }>;
    logs: Array<{ id: string; timestamp: string; level: string; message: string }>;
  } | null;
}

export interface WatchOptions {
  print?: (line: string) => void;
  /** Stop watching (Ctrl-C): the run goes on. */
  signal?: AbortSignal;
  /** Default PREFECTLITE_WATCH_AGENT_WARNING_SECONDS. */
  agentWarningMs?: number;
}

export type WatchResult = { kind: "finished"; state: StateType } | { kind: "stopped" };

/**
 * Stream a flow run's state changes (as `Entered state <Type>: message`) and log lines, merged
 * in time order, until it finishes. Each poll is one cheap query for what is newer than the
 * last entry seen (minus a look-back, de-duplicated by id). While the run has not started
 * running for PREFECTLITE_WATCH_AGENT_WARNING_SECONDS (counted from its scheduled start),
 * a WARNING says why, at most every 30 s.
 */
export async function watchFlowRun(client: BackendClient, flowRunId: string, options: WatchOptions = {}): Promise<WatchResult> {
  const print = options.print ?? ((line: string) => writeStdout(`${line}\n`));
  const warningMs = options.agentWarningMs ?? settings.watchAgentWarningSeconds() * 1000;
  const seen = new Map<string, number>(); // id → timestamp (ms), pruned past the look-back
  const watchStart = Date.now();
  let cursor = 0; // newest timestamp seen (ms)
  let everRunning = false;
  let lastWarning = 0;
  let pollMs = MIN_POLL_MS;

  const pending: Entry[] = [];
  const take = (entries: Entry[]) => {
    for (const e of entries) {
      if (seen.has(e.id)) continue;
      const t = Date.parse(e.timestamp);
      seen.set(e.id, t);
      cursor = Math.max(cursor, t);
      pending.push(e);
    }
    for (const [id, t] of seen) if (t < cursor - 2 * LOOKBACK_MS) seen.delete(id);
  };
  /** Print the pending entries older than `before` (ms), in time order. Returns how many. */
  const flush = (before: number) => {
    pending.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    let n = 0;
    while (n < pending.length && Date.parse(pending[n]!.timestamp) <= before) n++;
    for (const e of pending.splice(0, n)) {
      print(`└── ${formatLogLine({ timestamp: Date.parse(e.timestamp), level: e.level as never, message: e.message })}`);
    }
    return n;
  };
  const poll = async () => {
    const since = new Date(cursor ? cursor - LOOKBACK_MS : 0).toISOString();
    const data = await client.graphql<WatchPoll>(WATCH_POLL, { id: flowRunId, since });
    const run = data.flow_run_by_pk;
    if (!run) throw new Error(`flow run ${flowRunId} no longer exists`);
    // Logs first: the sort is stable, and a state recorded in the same millisecond as a log line
    // follows it (the runner logs "Flow run SUCCESS…" and then records Success).
    take([
      ...run.logs.map((l) => ({ id: l.id, timestamp: l.timestamp, level: l.level, message: l.message })),
      ...run.states.map((s) => ({ id: s.id, timestamp: s.timestamp, level: "INFO", message: `Entered state <${s.state}>: ${s.message ?? ""}` })),
    ]);
    return run;
  };

  for (;;) {
    const run = await poll();
    if (isFinishedType(run.state)) {
      await Bun.sleep(FINAL_SETTLE_MS);
      await poll();
      flush(Infinity);
      return { kind: "finished", state: run.state };
    }
    const printed = flush(Date.now() - SETTLE_MS);
    if (run.state === "Running" || run.states.some((s) => s.state === "Running")) everRunning = true;

    const now = Date.now();
    const waitingSince = Math.max(watchStart, Date.parse(run.scheduled_start_time));
    if (!everRunning && now - waitingSince >= warningMs && now - lastWarning >= WARNING_REPEAT_MS) {
      lastWarning = now;
      const agents = await readAgents(client);
      const waited = Math.round((now - waitingSince) / 1000);
      const why = diagnoseWaitingRun(run, agents, new Date(now), healthyWithinMs(settings.agentPollSeconds()));
      flush(Infinity);
      print(`└── ${formatLogLine({ timestamp: now, level: "WARNING", message: `It has been ${waited} seconds and your flow run has not started. ${why}` })}`);
    }

    pollMs = printed || pending.length ? MIN_POLL_MS : Math.min(MAX_POLL_MS, pollMs * 1.5);
    if (await sleepUnlessAborted(pollMs, options.signal)) {
      flush(Infinity);
      return { kind: "stopped" };
    }
  }
}

/** True when aborted. */
function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(aborted);
    };
    const onAbort = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * `prefectlite run --name FLOW --watch`: create the run, print its card, then stream it until it
 * finishes: exit 0 when it succeeded, 1 otherwise. Ctrl-C stops watching only (the run goes on;
 * how to cancel it is printed).
 */
export async function runWatch(o: BackendRunOptions): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  try {
    const run = await createRunAndPrintCard(client, o);
    await warnIfNoAgentCovers(client, run.labels);
    writeStdout("Watching flow run execution...\n");
    process.on("SIGINT", onInterrupt);
    const result = await watchFlowRun(client, run.id, { signal: stop.signal });
    if (result.kind === "stopped") {
      writeStdout(
        `\nStopped watching. Flow run '${run.name}' goes on in the backend; to cancel it: prefectlite cancel ${run.id}\n`,
      );
      return EXIT_STOPPED_WATCHING;
    }
    if (isSuccessfulType(result.state)) {
      writeStdout("Flow run succeeded!\n");
      return EXIT.ok;
    }
    writeStdout(result.state === "Cancelled" ? "Flow run was cancelled.\n" : "Flow run failed!\n");
    return EXIT.runFailed;
  } finally {
    process.off("SIGINT", onInterrupt);
    await client.close();
  }
}
