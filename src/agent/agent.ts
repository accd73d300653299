import { errorMessage } from "../core/errors.ts";
import { LoopService, pause } from "../loops/loop-service.ts";
import { executeFlowRunCommand, warmFlowRunCommand } from "../run-process/command.ts";
import { flowRunProcessEnv } from "../run-process/environment.ts";
import { describeExit, lastStderrLine } from "../run-process/process-ended.ts";
import { spawnFlowRunProcess, type FlowRunProcess, type ProcessOutcome } from "../run-process/process.ts";
import { RunChannelHost } from "../run-process/run-channel.ts";
import { DEFAULT_ENDED_RUN_GRACE_MS, RunProcessSupervisor } from "../run-process/supervision.ts";
import type { WarmFlowRunProcess } from "../run-process/warm-child.ts";
import { WarmPool } from "../run-process/warm-pool.ts";
import { settings } from "../settings.ts";
import type { Backend, ClaimedFlowRun, RunLogLine as AgentLogLine } from "../client/backend.ts";
import { writeStderr, writeStdout } from "../stdio.ts";

export const DEFAULT_CONCURRENCY = 10;
/** Runs a reused child executes when a flow asks for reuse (`reuseProcess`) and the agent gives each run its own process. */
export const RUNS_PER_REUSED_PROCESS = 100;
/** How long a stopping agent waits for its flow runs to finish before it interrupts them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
/** After SIGTERM, how long an interrupted child has to write out what it holds before SIGKILL. */
const KILL_AFTER_MS = 5_000;
export { DEFAULT_ENDED_RUN_GRACE_MS };

export interface AgentOptions {
  backend: Backend;
  /** Its name (the logger name of its run logs). Default "agent". */
  name?: string;
  /** It takes a run only if these include all of the run's labels. */
  labels?: readonly string[];
  /** Most flow-run processes at once (default 10). */
  concurrency?: number;
  /** Time between polls; default PREFECTLITE_AGENT_POLL_SECONDS (the in-process agent is also woken). */
  pollMs?: () => number;
  /**
   * The command line executing one run (default `prefectlite execute flow-run ID`: the binary,
   * or bun re-running prefectlite's entry; never argv[0], never a shell).
   */
  command?: (flowRunId: string) => string[];
  /**
   * How many warm children to keep: processes started ahead of time that have loaded prefectlite
   * and wait for a run on their run channel, so a claimed run starts without waiting for a process to
   * load. Each executes one run and exits. Default PREFECTLITE_AGENT_WARM_PROCESSES (2), at most
   * `concurrency`; 0 starts every run's process when it runs.
   */
  warmProcesses?: number;
  /**
   * How many runs a warm child executes, one after another, before it exits (default
   * PREFECTLITE_AGENT_RUNS_PER_PROCESS, 1: a process per run, as Prefect's agents). More saves a
   * process start per run, and a run shares the process with the runs before it (its environment,
   * module state, anything a run left going: README, "Agents"). A flow's run config decides for
   * its runs when it sets `reuseProcess` (true with 1 here: {@link RUNS_PER_REUSED_PROCESS}).
   */
  runsPerProcess?: number;
  /**
   * A reused child whose resident memory is past this many bytes after a run is let go instead
   * of taking another (default PREFECTLITE_AGENT_MAX_PROCESS_MB, 512 MB).
   */
  maxProcessBytes?: number;
  /**
   * The command of a warm child (default `prefectlite execute flow-run --wait-for-id`; none when a
   * custom `command` is given without one, or under a debugger).
   */
  warmCommand?: () => string[] | undefined;
  /** The agent's own output (submissions, crashed children, errors). */
  log?: (line: string) => void;
  /** Pass the children's stdout/stderr through (default: dropped; their logs go to the backend). */
  showFlowLogs?: boolean;
  /**
   * How long a child may leave its run Submitted — loading, importing the flow file — before the
   * agent kills it and fails the run (default PREFECTLITE_AGENT_START_TIMEOUT_SECONDS).
   */
  startTimeoutMs?: () => number;
  /** How long a child may outlive its run ending elsewhere before it is killed (default 5 s). */
  endedRunGraceMs?: number;
  /**
   * How long a child may go on once its run is Cancelling before the agent kills it and ends the
   * run Cancelled (default PREFECTLITE_CANCEL_GRACE_SECONDS).
   */
  cancelGraceMs?: () => number;
}

export interface AgentStopResult {
  /** Runs whose processes finished within the grace period. */
  finished: number;
  /** Runs whose processes were interrupted (SIGTERM, then SIGKILL): the safeguards recover them. */
  interrupted: string[];
}

/**
 * An agent: registers with its name and labels, and on every pass (each poll, each `wake()`,
 * each child that ends) takes as many due runs as it has free slots — one atomic
 * Scheduled → Submitted claim, so two agents never take the same run — and executes each in a
 * child process `prefectlite execute flow-run ID` with the run config's environment. A child
 * that dies leaves its run to the zombie killer and Lazarus; the agent only reports it. A child
 * that has not set its run Running within the start timeout (hung at import) is killed and its
 * run failed; a child whose run ended or was rescheduled elsewhere (the safeguards gave up on
 * it) and that is still alive after a grace period is killed.
 *
 * Stopping (`stop()`): it claims nothing more, waits up to a grace period for its children to
 * finish, then interrupts the rest (SIGTERM: they write out what they hold and leave their runs
 * for the safeguards, which resume them without re-running finished tasks).
 */
export class Agent extends LoopService {
  readonly agentName: string;
  readonly labels: readonly string[];
  readonly concurrency: number;
  private agentId: string | undefined;
  private readonly children = new Map<string, FlowRunProcess>();
  private readonly supervisor: RunProcessSupervisor;
  private readonly exits = new Set<Promise<unknown>>();
  private stopping = false;
  /** The backend turned out to have no long poll: sleep between polls. */
  private noLongPoll = false;
  /**
   * Runs may be waiting that this agent has not looked for: its last claim took as many as it
   * asked for, or it could not look (every slot busy). A slot that frees then looks at once;
   * otherwise a run that becomes due wakes the agent itself (an event, the long poll, the poll).
   */
  private mayBeWaiting = true;
  private readonly command: (flowRunId: string) => string[];
  private readonly say: (line: string) => void;
  private readonly pool: WarmPool | undefined;
  /** Answers the children's run channels, beats for their runs and tells them of a cancel. */
  private readonly host: RunChannelHost;
  /** Runs a warm child executes one after another (1: a process per run), unless a flow's run config says. */
  readonly runsPerProcess: number;
  private readonly maxProcessBytes: number;
  /** Warm children executing a run, that may take another after it. */
  private readonly lent = new Map<string, WarmFlowRunProcess>();

  constructor(private readonly options: AgentOptions) {
    const say = options.log ?? ((line: string) => writeStdout(`${line}\n`));
    let lastError = "";
    super("agent", options.pollMs ?? (() => settings.agentPollSeconds() * 1000), (message) => {
      if (message !== lastError) say(message); // a backend that stays down is reported once
      lastError = message;
    });
    this.say = say;
    this.agentName = options.name ?? "agent";
    this.supervisor = new RunProcessSupervisor(options.backend, {
      logger: this.agentName,
      say: (flowRunId, line) => say(`Agent '${this.agentName}': flow run ${flowRunId}: ${line}`),
      limits: () => ({
        startTimeoutMs: options.startTimeoutMs?.(),
        endedRunGraceMs: options.endedRunGraceMs,
        cancelGraceMs: options.cancelGraceMs?.(),
      }),
    });
    this.labels = [...new Set(options.labels ?? [])].sort();
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new Error("concurrency must be a whole number ≥ 1");
    this.command = options.command ?? ((id) => executeFlowRunCommand(id));
    const warmCommand = (options.warmCommand ?? (options.command ? undefined : warmFlowRunCommand))?.();
    const warm = Math.min(options.warmProcesses ?? settings.agentWarmProcesses(), this.concurrency);
    if (!Number.isInteger(warm) || warm < 0) throw new Error("warm processes must be a whole number ≥ 0");
    this.runsPerProcess = options.runsPerProcess ?? settings.agentRunsPerProcess();
    if (!Number.isInteger(this.runsPerProcess) || this.runsPerProcess < 1) throw new Error("runs per process must be a whole number ≥ 1");
    this.maxProcessBytes = options.maxProcessBytes ?? settings.agentMaxProcessMegabytes() * 1024 * 1024;
    this.host = new RunChannelHost(options.backend, { warn: (line) => say(`Agent '${this.agentName}': ${line}`) });
    this.pool =
      warmCommand && warm > 0
        ? new WarmPool({
            size: warm,
            command: warmCommand,
            host: this.host,
            env: () => this.childEnv({}),
            showOutput: options.showFlowLogs,
            log: (line) => this.say(`Agent '${this.agentName}': ${line}`),
          })
        : undefined;
  }

  /** Warm children idle now (ready or starting), and how many it keeps. */
  get warm(): { idle: number; ready: number; size: number } {
    return { idle: this.pool?.count ?? 0, ready: this.pool?.readyCount ?? 0, size: this.pool?.size ?? 0 };
  }

  /** Resolves once every warm child it holds is ready (at once without a pool). */
  async warmReady(): Promise<void> {
    await this.pool?.whenReady();
  }

  /** The agent's id once it has registered. */
  get id(): string | undefined {
    return this.agentId;
  }

  /** Ids of the runs its children are executing now. */
  get running(): string[] {
    return [...this.children.keys()];
  }

  /**
   * Between passes: the backend's long poll when it has one and a slot is free (it answers as soon
   * as a run may be due, so a run created anywhere starts at once), else the poll interval's
   * sleep. The interval (PREFECTLITE_AGENT_POLL_SECONDS) is the long poll's length; a server
   * bounds it (30 s) and the agent polls again at once.
   */
  protected override async waitForWork(ms: number, signal: AbortSignal): Promise<void> {
    const backend = this.options.backend;
    if (!backend.waitForRuns || this.noLongPoll || !this.agentId || this.stopping || this.children.size >= this.concurrency) return pause(ms, signal);
    const started = Date.now();
    let answer: boolean | undefined;
    try {
      answer = await backend.waitForRuns(this.labels, ms, signal);
    } catch (e) {
      if (signal.aborted) return;
      // The server unreachable: the rest of the interval's sleep, then the next pass reports it.
      return pause(ms - (Date.now() - started), signal);
    }
    if (answer === undefined) {
      this.noLongPoll = true;
      this.say(`Agent '${this.agentName}': the server has no long poll (wait_for_flow_runs): polling every ${Math.round(ms / 100) / 10} s`);
      return pause(ms - (Date.now() - started), signal);
    }
  }

  /** Register (once), then take and start as many due runs as there are free slots. Returns how many started. */
  async runOnce(): Promise<number> {
    if (this.stopping) return 0;
    this.agentId ??= await this.options.backend.registerAgent(this.agentName, this.labels);
    await this.supervisor.check();
    this.pool?.fill();
    const free = this.concurrency - this.children.size;
    if (free <= 0) {
      this.mayBeWaiting = true;
      await this.options.backend.pollRuns(this.agentId, this.labels);
      return 0;
    }
    const claimed = await this.options.backend.claimRuns(this.agentId, this.labels, free);
    this.mayBeWaiting = claimed.length === free;
    if (claimed.length === 0) return 0;
    const lines: AgentLogLine[] = [];
    for (const run of claimed) {
      const line = this.launch(run);
      if (line) lines.push(line);
    }
    this.pool?.fill(); // replacements for the warm children just taken
    await this.options.backend.writeRunLogs(lines).catch((e) => this.say(`agent: could not write run logs: ${errorMessage(e)}`));
    return claimed.length;
  }

  /**
   * Start the run's process: a warm child when one is idle and the run config sets no environment
   * (a warm child was started with the agent's environment, and variables the runtime reads at
   * start — TZ, NODE_OPTIONS, BUN_* — cannot be applied afterwards), else a new child with the
   * run config's environment.
   */
  private launch(run: ClaimedFlowRun): AgentLogLine | undefined {
    const previous = this.children.get(run.id);
    if (previous) this.supervisor.kill(previous, "its run was rescheduled and taken again");
    this.host.prefetch(run.id);
    let child: FlowRunProcess;
    try {
      const warm = Object.keys(run.env).length === 0 ? this.takeWarm(run.id, run.reuseProcess ?? this.runsPerProcess > 1) : undefined;
      if (warm) child = warm;
      else {
        const env = this.childEnv(run.env, (line) => this.say(`Agent '${this.agentName}': flow run ${run.id}: ${line}`));
        child = spawnFlowRunProcess(this.command(run.id), env, { showOutput: this.options.showFlowLogs, channel: { host: this.host, flowRunId: run.id } });
      }
    } catch (e) {
      // The run stays Submitted: Lazarus reschedules it once it has been quiet long enough.
      this.host.release(run.id);
      const message = `Could not start a process for the flow run: ${errorMessage(e)}`;
      this.say(`Agent '${this.agentName}': flow run ${run.id}: ${message}`);
      return { flowRunId: run.id, level: "ERROR", message, name: this.agentName };
    }
    this.children.set(run.id, child);
    this.supervisor.watch(run.id, child);
    this.say(`Agent '${this.agentName}': submitted flow run ${run.id} for execution (PID ${child.pid})`);
    const exit = child.exited.then((outcome) => this.childEnded(run.id, child, outcome));
    this.exits.add(exit);
    void exit.finally(() => this.exits.delete(exit));
    return { flowRunId: run.id, level: "INFO", message: `Submitted for execution: PID ${child.pid}`, name: this.agentName };
  }

  /**
   * Give the run to a warm child; undefined when none is idle (or the one taken had just died).
   * A run that may share its process (`reuse`) goes to a child that has runs left, which is lent:
   * after the run it goes back to the pool; any other run gets a child that has executed none,
   * and the child exits after it.
   */
  private takeWarm(flowRunId: string, reuse: boolean): FlowRunProcess | undefined {
    const lend = reuse;
    const warm = this.pool?.take({ lend, fresh: !reuse });
    if (!warm) return undefined;
    const perProcess = this.runsPerProcess > 1 ? this.runsPerProcess : RUNS_PER_REUSED_PROCESS;
    const more = lend && warm.runs + 1 < perProcess;
    try {
      const run = warm.assign(flowRunId, { more });
      if (more) this.lent.set(flowRunId, warm);
      else if (lend) this.pool!.lost();
      return run;
    } catch {
      warm.kill("SIGKILL"); // its channel is gone: it cannot take the run
      if (lend) this.pool!.lost();
      return undefined;
    }
  }

  /** After a lent child's run: back to the pool if it can take another, else let it go. */
  private bringBack(flowRunId: string): void {
    const warm = this.lent.get(flowRunId);
    if (!warm) return;
    this.lent.delete(flowRunId);
    if (!this.stopping && warm.canTakeRun && warm.rss <= this.maxProcessBytes) {
      this.pool!.giveBack(warm);
      return;
    }
    if (warm.canTakeRun && !this.stopping) {
      const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
      this.say(`Agent '${this.agentName}': let process ${warm.pid} go after ${warm.runs} run(s): it holds ${mb(warm.rss)} MB, past PREFECTLITE_AGENT_MAX_PROCESS_MB (${mb(this.maxProcessBytes)})`);
    }
    warm.dismiss();
    this.pool!.lost();
  }

  /**
   * The environment of a run's process: the agent's, the run config's (without what a run may
   * not set), then where the backend is.
   */
  private childEnv(runConfigEnv: Record<string, string>, warn: (line: string) => void = (line) => writeStderr(`${line}\n`)): Record<string, string> {
    return flowRunProcessEnv(process.env, runConfigEnv, this.options.backend.location(), warn);
  }

  /** A run's process ended: its run is left to the safeguards (the agent only reports a crash). */
  private async childEnded(flowRunId: string, child: FlowRunProcess, outcome: ProcessOutcome): Promise<void> {
    const killed = this.supervisor.forget(child);
    if (this.children.get(flowRunId) !== child) return; // an old child of a run taken again: its successor holds the slot
    this.children.delete(flowRunId);
    this.bringBack(flowRunId);
    if (!this.stopping && this.mayBeWaiting) this.wake(); // a slot is free, and runs may be waiting for one
    if (killed) return; // said when it was killed
    if (outcome.code === 0) return;
    const lastLine = lastStderrLine(outcome);
    if (outcome.code === 1) {
      // The run finished unsuccessfully, or could not be loaded: the child reported it itself.
      const how = outcome.runOnly ? `ended with code 1 in process ${child.pid}` : "process exited with code 1";
      this.say(`Agent '${this.agentName}': flow run ${flowRunId} ${how}${lastLine ? `: ${lastLine}` : ""}`);
      return;
    }
    const message = `Flow run process (PID ${child.pid}) ${describeExit(outcome)}; if the run did not finish, the zombie killer and Lazarus recover it.`;
    this.say(`Agent '${this.agentName}': flow run ${flowRunId}: ${message}${lastLine ? ` (${lastLine})` : ""}`);
    await this.options.backend
      .writeRunLogs([{ flowRunId, level: "WARNING", message, name: this.agentName }])
      .catch((e) => this.say(`agent: could not write run logs: ${errorMessage(e)}`));
  }

  /**
   * Stop taking runs, wait up to `graceMs` for the children to finish, then interrupt the rest
   * (SIGTERM, SIGKILL after 5 s); `hurry` ends the wait early. Call after aborting `run()`'s signal.
   */
  async stop(graceMs = DEFAULT_SHUTDOWN_GRACE_MS, hurry?: AbortSignal): Promise<AgentStopResult> {
    this.stopping = true;
    const pool = this.pool?.close();
    const before = this.children.size;
    await Promise.race([Promise.all([...this.exits]), sleep(graceMs), aborted(hurry)]);
    const interrupted = [...this.children.keys()];
    if (interrupted.length) {
      this.say(`Agent '${this.agentName}': interrupting ${interrupted.length} flow run(s) still executing; the safeguards will resume them`);
      for (const child of this.children.values()) child.kill("SIGTERM");
      await Promise.race([Promise.all([...this.exits]), sleep(KILL_AFTER_MS)]);
      for (const child of this.children.values()) child.kill("SIGKILL");
      await Promise.all([...this.exits]);
    }
    await pool;
    this.host.close();
    return { finished: before - interrupted.length, interrupted };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
  });
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
