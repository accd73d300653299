import type { RunsChanged } from "../storage/store.ts";
import { clockTime } from "../engine/log-format.ts";
import { Agent, DEFAULT_SHUTDOWN_GRACE_MS } from "../agent/agent.ts";
import { PrefectliteError } from "../core/errors.ts";
import { BackendClient } from "../client/client.ts";
import { Lazarus } from "../safeguards/lazarus.ts";
import { ZombieKiller } from "../safeguards/zombie-killer.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { requiresToken, startServer } from "../server/serve.ts";
import { settings } from "../settings.ts";
import { watchAndRegister } from "../watcher/watch-and-register.ts";
import { loadFlowsInChild } from "../backed/flow-source-child.ts";
import { recordFlowFileLoad } from "../services/flow-file-errors.ts";
import { openBackend, type Backend } from "./backend.ts";
import { embeddedBackend } from "./embedded-backend.ts";
import { writeStdout } from "../stdio.ts";

export interface ServeOptions {
  host: string;
  port: number;
  /** The database (default PREFECTLITE_DATABASE_URL). */
  databaseUrl?: string;
  /** Migrate the database to this binary's schema (default true); false refuses one that is behind. */
  migrate?: boolean;
  /** Folder of flow files to register at start and re-register as they change. */
  watchDir?: string;
  project: string;
  scheduler?: boolean;
  /** Run the in-process agent (default true; `--no-agent`). */
  agent?: boolean;
  /** How the in-process agent starts a run's process (default `prefectlite execute flow-run ID`). */
  agentCommand?: (flowRunId: string) => string[];
  /**
   * The prefectlite executable the in-process agent's children run (default: this process's own:
   * the binary, or Bun re-running src/main.ts). The benchmarks point it at dist/prefectlite.
   */
  agentExecutable?: string;
  /**
   * How the in-process agent's children reach the backend: "http" (default) through this server,
   * or "database" (each child opens the embedded database itself).
   */
  agentChildBackend?: "http" | "database";
  /** Warm children the in-process agent keeps (default PREFECTLITE_AGENT_WARM_PROCESSES). */
  agentWarmProcesses?: number;
  /** Runs each warm child executes before it exits (default PREFECTLITE_AGENT_RUNS_PER_PROCESS, 1). */
  agentRunsPerProcess?: number;
  /** On stop, how long the agent waits for its runs before interrupting them (default 30 s). */
  agentShutdownGraceMs?: number;
  /** Archive the flows of a deleted file (default: deleting a file archives nothing). */
  archiveDeleted?: boolean;
  log?: (line: string) => void;
}

export interface RunningServe {
  url: string;
  backend: Backend;
  scheduler: Scheduler | undefined;
  agent: Agent | undefined;
  /** Resolves once `watchDir`'s files have been registered (immediately without one). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const clock = () => clockTime(Date.now());

/**
 * `prefectlite serve`: the API on the embedded database, the scheduler loop, the in-process
 * agent, the zombie killer and Lazarus loops and the flow-file watcher, under one
 * AbortController. The agent is woken the moment a run becomes due (scheduler alarm), is
 * created through the API, or is rescheduled; it also polls every PREFECTLITE_AGENT_POLL_SECONDS
 * for runs other processes wrote to the database. Binding anything but loopback needs
 * PREFECTLITE_API_TOKEN.
 */
export async function serve(options: ServeOptions): Promise<RunningServe> {
  const log = options.log ?? ((line: string) => writeStdout(`${line}\n`));
  const token = settings.apiToken();
  if (requiresToken(options.host) && !token) {
    throw new PrefectliteError("Usage", `binding ${options.host} exposes the API beyond this machine: set PREFECTLITE_API_TOKEN first`);
  }
  // role "server": another process holding the write lock must not stall this event loop (on
  // SQLite, statements wait for it only briefly and the write queue waits it out asynchronously).
  const backend = await openBackend(options.databaseUrl ?? settings.databaseUrl(), { role: "server", migrate: options.migrate });
  let scheduler: Scheduler | undefined;
  let agent: Agent | undefined;
  // After every commit that may have made a run due (a new run, a state → Scheduled, a restart),
  // and at subscribe: wake the in-process agent, so a run created through the API starts at once
  // instead of at the next poll, and re-arm the scheduler's due alarm for a run due later (one due
  // now is the agent's already: an alarm for it would only wake the agent a second time).
  const runsChanged = (hint?: RunsChanged) => {
    if (!hint || Date.parse(hint.at) > Date.now()) scheduler?.runsChanged();
    agent?.wake();
  };
  const unsubscribe = backend.storage.store.events.subscribe(runsChanged, runsChanged);
  let server: ReturnType<typeof startServer>;
  try {
    const schema = await backend.schema();
    server = startServer({
      host: options.host,
      port: options.port,
      token,
      allowedHosts: settings.allowedHosts(),
      schema,
      contextFactory: (info) => ({ ...backend.context(info.agentId, info.request.signal), prefectCoreVersion: info.prefectCoreVersion }),
    });
  } catch (e) {
    unsubscribe();
    await backend.close();
    throw e;
  }
  log(`prefectlite server listening on ${server.url} (database ${backend.storage.description})`);
  log(`Replica ${settings.replicaId()}`);

  const controller = new AbortController();
  const loops: Promise<void>[] = [];
  scheduler = options.scheduler === false ? undefined : new Scheduler(backend.services, { onError: log });
  const stamped = (line: string) => log(`└── ${clock()} | ${line}`);
  if (options.agent !== false) {
    agent = new Agent({
      // The run processes report to this replica, or to PREFECTLITE_PUBLIC_API_URL (a load
      // balancer in front of the replicas: a run outlives the replica that started it).
      backend: embeddedBackend(backend, {
        server: options.agentChildBackend === "database" ? undefined : { url: settings.publicApiUrl() ?? loopbackUrl(server.url, options.host), token },
      }),
      name: "serve",
      command: options.agentCommand ?? (options.agentExecutable ? (id) => [options.agentExecutable!, "execute", "flow-run", id] : undefined),
      warmCommand: options.agentExecutable && !options.agentCommand ? () => [options.agentExecutable!, "execute", "flow-run", "--wait-for-id"] : undefined,
      warmProcesses: options.agentWarmProcesses,
      runsPerProcess: options.agentRunsPerProcess,
      log: stamped,
    });
    scheduler?.onRunsDue(() => agent?.wake());
    loops.push(agent.run(controller.signal));
  }
  const safeguards = { onError: log, onChange: stamped, onRescheduled: () => agent?.wake() };
  loops.push(new ZombieKiller(backend.services, safeguards).run(controller.signal));
  loops.push(new Lazarus(backend.services, safeguards).run(controller.signal));
  if (scheduler) loops.push(scheduler.run(controller.signal));

  let ready: Promise<void> = Promise.resolve();
  if (options.watchDir) {
    const client = new BackendClient(embeddedBackend(backend));
    await client.createProject(options.project);
    let markReady: () => void = () => {};
    ready = new Promise<void>((resolve) => (markReady = resolve));
    loops.push(
      watchAndRegister({
        client,
        project: options.project,
        paths: [options.watchDir],
        archiveDeleted: options.archiveDeleted,
        signal: controller.signal,
        // Flow code never runs in this process: each file is loaded by a child, within a time limit.
        loadFlowFile: (path) => loadFlowsInChild({ path }, { signal: controller.signal }),
        onLoadOutcome: (path, error) => recordFlowFileLoad(path, error),
        log: (line) => log(`└── ${clock()} | ${line}`),
        onReady: () => {
          log(`Watching '${options.watchDir}' for flow changes (project '${options.project}')`);
          markReady();
        },
      }).catch((e) => log(`watcher stopped: ${(e as Error).message}`)),
    );
  }

  return {
    url: server.url,
    backend,
    scheduler,
    agent,
    ready,
    stop: async () => {
      controller.abort();
      await Promise.all(loops);
      await agent?.stop(options.agentShutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
      // The agent's children have finished (or been interrupted). One turn of the event loop lets
      // the write group already queued commit and its requests answer; then the HTTP server stops
      // (no request is handled any more), and only then is the database closed — committing what
      // is still queued, refusing later writes Unavailable (clients retry those).
      unsubscribe();
      await new Promise((resolve) => setImmediate(resolve));
      await server.stop();
      await backend.close();
    },
  };
}

/** The server's URL as this machine's own processes reach it: a wildcard address becomes loopback. */
export function loopbackUrl(url: string, host: string): string {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "0.0.0.0") return url.replace("//0.0.0.0:", "//127.0.0.1:");
  if (bare === "::") return url.replace(/\/\/\[::\]:/, "//[::1]:");
  return url;
}
