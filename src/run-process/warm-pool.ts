import type { RunChannelHost } from "./run-channel.ts";
import { spawnWarmFlowRunProcess, type WarmFlowRunProcess } from "./warm-child.ts";

/** Warm children that end before they are ready, in a row, after which the pool pauses. */
const FAILURES_BEFORE_PAUSE = 3;
/** How long the pool stays empty after that (each run's child is then started when it runs). */
const PAUSE_MS = 30_000;
/** After `close()`, how long a dismissed child has to exit before SIGKILL. */
const DISMISS_GRACE_MS = 2_000;

export interface WarmPoolOptions {
  /** How many idle children to keep. */
  size: number;
  /** `prefectlite execute flow-run --wait-for-id` (run-process/command.ts). */
  command: readonly string[];
  /** The environment of the next child (the agent's, plus where the backend is; never a run config's). */
  env: () => Record<string, string>;
  /** Answers the children's run channels. */
  host: RunChannelHost;
  showOutput?: boolean;
  log: (line: string) => void;
}

/**
 * An agent's warm children: processes started ahead of time that have already loaded prefectlite
 * (client, engine, loader, SDK), each waiting for a run on its run channel. `take()`
 * hands out the readiest; `fill()` starts replacements. A child lent with `take({ lend: true })`
 * (an agent reusing its children) counts as one of the pool's until it is given back with
 * `giveBack()` after its run, or `lost()` (it ended, or had its last run). A child that keeps
 * dying before it is ready pauses the pool for a while (the agent then starts each run's child
 * cold), so a broken installation cannot make it spin. Children exit on their own when told bye
 * — on `close()` — or when their channel closes: the agent's process ended, however it ended.
 */
export class WarmPool {
  private readonly idle: WarmFlowRunProcess[] = [];
  /** Children lent out that may come back. */
  private lent = 0;
  private closed = false;
  private failures = 0;
  private pausedUntil = 0;

  constructor(private readonly options: WarmPoolOptions) {}

  /** How many idle children it keeps. */
  get size(): number {
    return this.options.size;
  }

  /** Idle children, ready or still starting. */
  get count(): number {
    return this.idle.length;
  }

  /** Idle children that are ready. */
  get readyCount(): number {
    return this.idle.filter((c) => c.isReady).length;
  }

  /** Resolves once every idle child is ready (or has ended). */
  async whenReady(): Promise<void> {
    await Promise.all(this.idle.map((c) => c.ready));
  }

  /** Start children until `size` are idle (unless closed or paused after repeated failures). */
  fill(): void {
    if (this.closed || Date.now() < this.pausedUntil) return;
    while (this.idle.length + this.lent < this.options.size) {
      if (!this.spawnOne()) return;
    }
  }

  /**
   * The readiest idle child (a ready one, else the oldest still starting), or undefined. `fresh`:
   * only one that has executed no run (a run that must have a process of its own); else one that
   * has is preferred (it is warm already, and the fresh ones are kept for such runs), the one back
   * last first: runs one after another keep going to the same, warmest, process.
   */
  take(options: { lend?: boolean; fresh?: boolean } = {}): WarmFlowRunProcess | undefined {
    if (this.closed || this.idle.length === 0) return undefined;
    const rank = (c: WarmFlowRunProcess) => (options.fresh && c.runs > 0 ? -1 : (c.isReady ? 2 : 0) + (c.runs > 0 ? 1 : 0));
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) if (rank(this.idle[i]!) >= 0 && (best < 0 || rank(this.idle[i]!) >= rank(this.idle[best]!))) best = i;
    if (best < 0) return undefined;
    const child = this.idle.splice(best, 1)[0]!;
    if (options.lend) this.lent++;
    return child;
  }

  /** A lent child is back from its run and can take another (dismissed if the pool has closed). */
  giveBack(child: WarmFlowRunProcess): void {
    this.lent = Math.max(0, this.lent - 1);
    if (this.closed || !child.canTakeRun) {
      child.dismiss();
      this.fill();
      return;
    }
    this.idle.push(child);
  }

  /** A lent child will not come back (it ended, or had its last run): make room for a new one. */
  lost(): void {
    this.lent = Math.max(0, this.lent - 1);
    this.fill();
  }

  /** Dismiss every idle child and wait for them to exit (SIGKILL after a grace period). */
  async close(): Promise<void> {
    this.closed = true;
    const children = this.idle.splice(0);
    for (const child of children) child.dismiss();
    const exits = Promise.all(children.map((c) => c.exited));
    const timer = setTimeout(() => children.forEach((c) => c.kill("SIGKILL")), DISMISS_GRACE_MS);
    await exits;
    clearTimeout(timer);
  }

  private spawnOne(): boolean {
    let child: WarmFlowRunProcess;
    try {
      child = spawnWarmFlowRunProcess(this.options.command, this.options.env(), { host: this.options.host, showOutput: this.options.showOutput });
    } catch (e) {
      this.failed(`could not start a warm process: ${(e as Error).message}`);
      return false;
    }
    this.idle.push(child);
    void child.ready.then((ok) => {
      if (ok) this.failures = 0;
      else if (this.idle.includes(child)) child.kill("SIGKILL"); // alive but not speaking the protocol: of no use
    });
    void child.exited.then((outcome) => {
      const at = this.idle.indexOf(child);
      if (at < 0) return; // taken (the agent follows it) or dismissed
      this.idle.splice(at, 1);
      if (this.closed) return;
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
      const lastLine = outcome.stderrTail.trim().split("\n").at(-1) ?? "";
      if (!child.isReady) this.failed(`warm process (PID ${child.pid}) ${how} before it was ready${lastLine ? `: ${lastLine}` : ""}`);
      this.fill();
    });
    return true;
  }

  private failed(message: string): void {
    this.failures++;
    if (this.failures < FAILURES_BEFORE_PAUSE) return;
    this.failures = 0;
    this.pausedUntil = Date.now() + PAUSE_MS;
    this.options.log(`${message}; starting each run's process when it runs for the next ${PAUSE_MS / 1000} s`);
  }
}
