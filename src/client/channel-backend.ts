/**
 * The run channel: how a flow run's process (`execute flow-run`) reaches the backend through the
 * process that started it (an agent, `run --execute`), over Bun's IPC channel (JSON messages),
 * instead of opening the database or sending a GraphQL request over HTTP for every write. Both
 * sides of the protocol are described here; this file holds the child's side (`ChannelBackend`),
 * run-process/run-channel.ts the parent's.
 *
 * The parent answers the run's own reads and writes from its Backend, beats for the runs its
 * children hold and tells them of a cancel. A warm child (started ahead of time) says it is ready
 * and takes runs over the same channel. If the parent goes away mid-run, the child goes on with
 * the backend its environment names (PREFECTLITE_API_URL or the embedded database), calls still
 * unanswered sent there again (every write carries its write id: none is made twice), and beats
 * for itself.
 */
import { PrefectliteError, errorMessage, type ErrorCode } from "../core/errors.ts";
import type { Backend, BackendLocation, ThreadWatch, ThreadWatchOptions } from "./backend.ts";

/** The Backend methods a run's process sends over the channel: its run's reads and writes. */
export const CHANNEL_METHODS = [
  "readFlowRun",
  "readFlowRunState",
  "readTaskRuns",
  "setFlowRunState",
  "setTaskRunStates",
  "mappedChildren",
  "writeLogs",
  "writeBatch",
  "heartbeat",
  "endAbandonedRun",
  "runStandings",
] as const satisfies ReadonlyArray<keyof Backend>;

export type ChannelMethod = (typeof CHANNEL_METHODS)[number];

const CHANNEL_METHOD_SET: ReadonlySet<string> = new Set(CHANNEL_METHODS);

export function isChannelMethod(name: unknown): name is ChannelMethod {
  return typeof name === "string" && CHANNEL_METHOD_SET.has(name);
}

/** An error as it crosses the channel: a PrefectliteError's code survives. */
export interface ChannelError {
  code?: ErrorCode;
  message: string;
}

/** What a run's process sends its parent. */
export type ChildMessage =
  /** A warm child has loaded everything and waits for a run. */
  | { t: "ready" }
  /** Call `m` of the parent's backend with arguments `a`; answered by a reply with the same `n`. */
  | { t: "call"; n: number; m: ChannelMethod; a: unknown[] }
  /**
   * A warm child finished run `id` with exit code `code`; `stop`: it takes no more runs (that run
   * left work behind); `rss`: its resident memory now, in bytes (the parent recycles a child that grew).
   */
  | { t: "done"; id: string; code: number; stop: boolean; rss: number };

/** What the parent sends a run's process. */
export type ParentMessage =
  | { t: "reply"; n: number; ok?: unknown; err?: ChannelError }
  /** A warm child's next run. */
  | { t: "run"; id: string }
  /** Run `id` is Cancelling (or Cancelled): stop starting its task runs. */
  | { t: "cancel"; id: string }
  /** A warm child is not given another run: it exits. */
  | { t: "bye" };

export function channelError(e: unknown): ChannelError {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? { code: code as ErrorCode, message: errorMessage(e) } : { message: errorMessage(e) };
}

export function errorFromChannel(err: ChannelError): Error {
  return err.code ? new PrefectliteError(err.code, err.message) : new Error(err.message);
}

/** The child's end of Bun's IPC channel (process.send / "message" / "disconnect"). */
export interface ChannelPort {
  readonly connected: boolean;
  send(message: ChildMessage): void;
  onMessage(handler: (message: ParentMessage) => void): void;
  onDisconnect(handler: () => void): void;
}

/** This process's IPC channel to its parent, when it was started with one. */
export function parentChannel(): ChannelPort | undefined {
  if (typeof process.send !== "function" || !process.connected) return undefined;
  return {
    get connected() {
      return process.connected === true;
    },
    send(message) {
      process.send!(message);
    },
    onMessage(handler) {
      process.on("message", (message) => handler(message as ParentMessage));
    },
    onDisconnect(handler) {
      process.on("disconnect", handler);
    },
  };
}

interface Pending {
  method: ChannelMethod;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * The Backend of a run's process started with a channel: its run's reads and writes
 * ({@link CHANNEL_METHODS}) go to the parent while the channel is open; everything else (a
 * task's own Client, GraphQL, registration) and everything once the channel has closed goes to
 * `fallback`, the backend its environment names, opened on first use.
 */
export class ChannelBackend implements Backend {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  /** Runs the parent said are Cancelling. */
  private readonly cancelled = new Set<string>();
  private readonly watches = new Map<string, Set<() => void>>();
  private fallbackBackend: Promise<Backend> | undefined;
  private readonly runHandlers = new Set<(message: ParentMessage) => void>();

  constructor(
    private readonly port: ChannelPort,
    private readonly fallback: () => Promise<Backend>,
    private readonly fallbackLocation: BackendLocation,
    /** Where a person sees runs (the fallback's base URL), without opening it. */
    readonly baseUrl: string | undefined,
  ) {
    port.onMessage((message) => this.received(message));
    port.onDisconnect(() => this.disconnected());
  }

  /** Messages about runs (run, bye) for the warm-child loop; replies and cancels are handled here. */
  onRunMessage(handler: (message: ParentMessage) => void): () => void {
    this.runHandlers.add(handler);
    return () => this.runHandlers.delete(handler);
  }

  /** Whether the parent is still there. */
  get connected(): boolean {
    return this.port.connected;
  }

  /** Tell the parent something (ready, done); nothing once the channel has closed. */
  tell(message: Extract<ChildMessage, { t: "ready" | "done" }>): void {
    if (this.port.connected) this.port.send(message);
  }

  private received(message: ParentMessage): void {
    if (message.t === "reply") {
      const call = this.pending.get(message.n);
      if (!call) return;
      this.pending.delete(message.n);
      if (message.err) call.reject(errorFromChannel(message.err));
      else call.resolve(message.ok);
      return;
    }
    if (message.t === "cancel") {
      if (this.cancelled.has(message.id)) return;
      this.cancelled.add(message.id);
      for (const onCancel of this.watches.get(message.id) ?? []) onCancel();
      return;
    }
    for (const handler of this.runHandlers) handler(message);
  }

  /** The parent is gone: what it had not answered goes to the fallback. */
  private disconnected(): void {
    const unanswered = [...this.pending.values()];
    this.pending.clear();
    for (const call of unanswered) this.viaFallback(call.method, call.args).then(call.resolve, call.reject);
    for (const handler of this.runHandlers) handler({ t: "bye" });
  }

  private backend(): Promise<Backend> {
    this.fallbackBackend ??= this.fallback();
    return this.fallbackBackend;
  }

  private async viaFallback(method: ChannelMethod, args: unknown[]): Promise<unknown> {
    const backend = (await this.backend()) as unknown as Record<ChannelMethod, (...a: unknown[]) => Promise<unknown>>;
    return backend[method](...args);
  }

  private call<M extends ChannelMethod>(method: M, ...args: Parameters<Backend[M]>): ReturnType<Backend[M]> {
    if (!this.port.connected) return this.viaFallback(method, args) as ReturnType<Backend[M]>;
    return new Promise<unknown>((resolve, reject) => {
      const n = this.next++;
      this.pending.set(n, { method, args, resolve, reject });
      try {
        this.port.send({ t: "call", n, m: method, a: args });
      } catch {
        // The channel closed under us: the disconnect handler sends it to the fallback.
      }
    }) as ReturnType<Backend[M]>;
  }

  readFlowRun: Backend["readFlowRun"] = (...a) => this.call("readFlowRun", ...a);
  readFlowRunState: Backend["readFlowRunState"] = (...a) => this.call("readFlowRunState", ...a);
  readTaskRuns: Backend["readTaskRuns"] = (...a) => this.call("readTaskRuns", ...a);
  setFlowRunState: Backend["setFlowRunState"] = (...a) => this.call("setFlowRunState", ...a);
  setTaskRunStates: Backend["setTaskRunStates"] = (...a) => this.call("setTaskRunStates", ...a);
  mappedChildren: Backend["mappedChildren"] = (...a) => this.call("mappedChildren", ...a);
  writeLogs: Backend["writeLogs"] = (...a) => this.call("writeLogs", ...a);
  writeBatch: Backend["writeBatch"] = (...a) => this.call("writeBatch", ...a);
  heartbeat: Backend["heartbeat"] = (...a) => this.call("heartbeat", ...a);
  endAbandonedRun: Backend["endAbandonedRun"] = (...a) => this.call("endAbandonedRun", ...a);
  runStandings: Backend["runStandings"] = async (ids) => {
    // A Map does not survive JSON: it crosses as its entries.
    if (!this.port.connected) return (await this.backend()).runStandings(ids);
    const entries = (await this.call("runStandings", ids)) as unknown as Array<[string, { state: never; version: number }]>;
    return new Map(entries);
  };

  /**
   * While the parent is there it beats for the run and tells of a cancel: the watch is alive and
   * reports the cancel the parent sent. Once the channel has closed the watch is dead (or there is
   * none), and the caller beats and polls from its own timer (through the fallback).
   */
  watchFromThread(flowRunId: string, options: ThreadWatchOptions): ThreadWatch | undefined {
    if (!this.port.connected) return undefined;
    const onCancel = () => options.onCancel?.();
    let set = this.watches.get(flowRunId);
    if (!set) this.watches.set(flowRunId, (set = new Set()));
    set.add(onCancel);
    return {
      alive: () => this.port.connected,
      cancelRequested: () => this.cancelled.has(flowRunId),
      stop: () => {
        set.delete(onCancel);
        if (set.size === 0) this.watches.delete(flowRunId);
      },
    };
  }

  graphql: Backend["graphql"] = async (document, variables) => (await this.backend()).graphql(document, variables);
  findProject: Backend["findProject"] = async (...a) => (await this.backend()).findProject(...a);
  listProjects: Backend["listProjects"] = async () => (await this.backend()).listProjects();
  createProject: Backend["createProject"] = async (...a) => (await this.backend()).createProject(...a);
  latestFlow: Backend["latestFlow"] = async (...a) => (await this.backend()).latestFlow(...a);
  listFlows: Backend["listFlows"] = async (...a) => (await this.backend()).listFlows(...a);
  createFlow: Backend["createFlow"] = async (...a) => (await this.backend()).createFlow(...a);
  archiveFlow: Backend["archiveFlow"] = async (...a) => (await this.backend()).archiveFlow(...a);
  createFlowRun: Backend["createFlowRun"] = async (...a) => (await this.backend()).createFlowRun(...a);
  cancel: Backend["cancel"] = async (...a) => (await this.backend()).cancel(...a);
  registerAgent: Backend["registerAgent"] = async (...a) => (await this.backend()).registerAgent(...a);
  claimRuns: Backend["claimRuns"] = async (...a) => (await this.backend()).claimRuns(...a);
  pollRuns: Backend["pollRuns"] = async (...a) => (await this.backend()).pollRuns(...a);
  writeRunLogs: Backend["writeRunLogs"] = async (...a) => (await this.backend()).writeRunLogs(...a);

  location(): BackendLocation {
    return this.fallbackLocation;
  }

  async close(): Promise<void> {
    if (this.fallbackBackend) await (await this.fallbackBackend).close();
  }
}
