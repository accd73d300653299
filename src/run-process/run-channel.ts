/**
 * The parent's side of the run channel (the protocol: client/channel-backend.ts): an agent, or
 * `run --execute`, answers its run processes' reads and writes from its own Backend — in serve's
 * process the services themselves, no HTTP and no GraphQL — beats for the runs they hold, and
 * tells them of a cancel.
 */
import { errorMessage } from "../core/errors.ts";
import { settings } from "../settings.ts";
import { channelError, isChannelMethod, type ChildMessage, type ParentMessage } from "../client/channel-backend.ts";
import type { Backend } from "../client/backend.ts";

/** How the host reaches one child. */
export interface ChannelChild {
  send(message: ParentMessage): void;
}

export interface RunChannelHostOptions {
  /** Beat for each held run this often (default PREFECTLITE_HEARTBEAT_SECONDS). */
  heartbeatMs?: number;
  /** Look for a cancel of the held runs this often (default 1 s, as a run's own cancel watch). */
  cancelPollMs?: number;
  /** Problems with a beat or a cancel poll (said once until they go away). */
  warn?: (line: string) => void;
}

type Handlers = Record<string, (...args: unknown[]) => Promise<unknown>>;

/**
 * One per parent process: `received(child, message)` for each message of a child (Bun.spawn's
 * `ipc` callback), `hold(child, runId)` while a child executes a run, `release` after. Holds no
 * timer while no run is held.
 */
export class RunChannelHost {
  private readonly held = new Map<string, ChannelChild>();
  /** Reads of runs about to be handed over, started early (see `prefetch`). */
  private readonly prefetched = new Map<string, Promise<unknown>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastBeat = 0;
  private busy = false;
  private problem = "";
  private readonly heartbeatMs: number;
  private readonly cancelPollMs: number;

  constructor(
    private readonly backend: Backend,
    private readonly options: RunChannelHostOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? settings.heartbeatSeconds() * 1000;
    this.cancelPollMs = options.cancelPollMs ?? Math.min(1000, this.heartbeatMs);
  }

  /**
   * A message from a child: a call is answered from the backend (only the run's own reads and
   * writes: client/channel-backend.ts's CHANNEL_METHODS); other messages are the caller's
   * (returned, for the warm-child protocol).
   */
  received(child: ChannelChild, message: ChildMessage): Exclude<ChildMessage, { t: "call" }> | undefined {
    if (message?.t !== "call") return message;
    const { n, m, a } = message;
    if (!isChannelMethod(m) || !Array.isArray(a)) {
      reply(child, { t: "reply", n, err: { code: "Usage", message: `not a run-channel call: ${String(m)}` } });
      return undefined;
    }
    const early = m === "readFlowRun" ? this.prefetched.get(a[0] as string) : undefined;
    if (early) this.prefetched.delete(a[0] as string);
    const handler = (this.backend as unknown as Handlers)[m]!;
    (early ?? handler.apply(this.backend, a)).then(
      (ok) => reply(child, { t: "reply", n, ok: ok instanceof Map ? [...ok] : ok }),
      (e) => reply(child, { t: "reply", n, err: channelError(e) }),
    );
    return undefined;
  }

  /**
   * Read run `flowRunId` now, for the child it is being handed to: the read the child starts
   * with is then answered from this one (over HTTP, a round trip the child no longer waits for).
   * Call right after the run was claimed; the read is dropped with the hold.
   */
  prefetch(flowRunId: string): void {
    const read = this.backend.readFlowRun(flowRunId);
    read.catch(() => undefined); // a failed read is the child's to see, when it asks
    this.prefetched.set(flowRunId, read);
  }

  /** The child executes run `flowRunId`: beat for it, and tell it of a cancel. */
  hold(child: ChannelChild, flowRunId: string): void {
    this.held.set(flowRunId, child);
    if (this.held.size === 1) this.lastBeat = Date.now();
    this.timer ??= setInterval(() => void this.tick(), this.cancelPollMs);
    this.timer.unref?.();
  }

  /** The run ended (its process, or its turn in a warm child). */
  release(flowRunId: string): void {
    this.held.delete(flowRunId);
    this.prefetched.delete(flowRunId);
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** One pass: a cancel poll of every held run (one read), and the beats when due. */
  private async tick(): Promise<void> {
    if (this.busy || this.held.size === 0) return;
    this.busy = true;
    try {
      const ids = [...this.held.keys()];
      const standings = await this.backend.runStandings(ids);
      for (const id of ids) {
        const state = standings.get(id)?.state;
        if (state === "Cancelling" || state === "Cancelled") this.held.get(id)?.send({ t: "cancel", id });
      }
      if (Date.now() - this.lastBeat >= this.heartbeatMs) {
        this.lastBeat = Date.now();
        await Promise.all(ids.filter((id) => this.held.has(id)).map((id) => this.backend.heartbeat(id)));
      }
      this.problem = "";
    } catch (e) {
      const message = `could not beat for or poll the runs of its processes: ${errorMessage(e)}`;
      if (message !== this.problem) this.options.warn?.(message);
      this.problem = message;
    } finally {
      this.busy = false;
    }
  }

  /** Stop beating for anything (the parent is stopping). */
  close(): void {
    this.held.clear();
    this.prefetched.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function reply(child: ChannelChild, message: ParentMessage): void {
  try {
    child.send(message);
  } catch {
    // The child has gone: nobody is waiting for the answer.
  }
}
