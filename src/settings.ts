import { join, resolve } from "node:path";

/** node:os, loaded when a default needs it: a flow run's child has PREFECTLITE_HOME set. */
const os = () => require("node:os") as typeof import("node:os");

/**
 * Every setting, read from the environment when asked (tests change the environment between
 * runs). Defaults are SPEC §6's; the README lists them all.
 */
function numberSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A whole-number setting (≥ 1); anything else falls back to the default. */
function intSetting(name: string, fallback: number): number {
  const n = numberSetting(name, fallback);
  return Number.isSafeInteger(n) ? n : fallback;
}

/** The file (or ":memory:") of a SQLite database URL; undefined for a PostgreSQL one. */
export function sqlitePathOf(url: string): string | undefined {
  if (/^postgres(ql)?:\/\//i.test(url)) return undefined;
  const path = url.startsWith("sqlite://") ? url.slice("sqlite://".length) : url.startsWith("sqlite:") ? url.slice("sqlite:".length) : url;
  return path === ":memory:" ? path : resolve(path);
}

export const settings = {
  home: () => resolve(process.env.PREFECTLITE_HOME || join(os().homedir(), ".prefectlite")),
  /**
   * Where the data is: "sqlite:PATH" (or a plain PATH, or ":memory:") or a "postgres://…" URL.
   * Default: the SQLite file prefectlite.db in PREFECTLITE_HOME.
   */
  databaseUrl: () => process.env.PREFECTLITE_DATABASE_URL || `sqlite:${join(settings.home(), "prefectlite.db")}`,
  /** The SQLite database file (of a SQLite databaseUrl; else the default file in PREFECTLITE_HOME). */
  databasePath: () => sqlitePathOf(settings.databaseUrl()) ?? join(settings.home(), "prefectlite.db"),
  /** Connections in a PostgreSQL pool (a postgres:// URL's `?max=` wins). */
  databasePool: () => intSetting("PREFECTLITE_DB_POOL", 10),
  resultsDir: () => join(settings.home(), "results"),
  apiUrl: () => process.env.PREFECTLITE_API_URL || undefined,
  /**
   * The URL serve's in-process agent gives the run processes it starts (a load balancer in front
   * of the replicas), instead of this replica's own loopback URL.
   */
  publicApiUrl: () => process.env.PREFECTLITE_PUBLIC_API_URL || undefined,
  /** This serve among its replicas (printed at start, in its logs): default hostname:pid. */
  replicaId: () => process.env.PREFECTLITE_REPLICA_ID || `${os().hostname()}:${process.pid}`,
  apiToken: () => process.env.PREFECTLITE_API_TOKEN || undefined,
  /** Host names `serve` answers to besides its defaults: `name` or `name:port`, comma-separated. */
  allowedHosts: () => (process.env.PREFECTLITE_ALLOWED_HOSTS ?? "").split(",").map((entry) => entry.trim()).filter((entry) => entry !== ""),
  heartbeatSeconds: () => numberSetting("PREFECTLITE_HEARTBEAT_SECONDS", 30),
  zombieMissedHeartbeats: () => numberSetting("PREFECTLITE_ZOMBIE_MISSED_HEARTBEATS", 4),
  lazarusAfterSeconds: () => numberSetting("PREFECTLITE_LAZARUS_AFTER_SECONDS", 600),
  /** Lazarus reschedules a silent agentless run (`run --execute`) for an agent, dropping its label, instead of failing it. */
  lazarusRescheduleAgentless: () => ["1", "true", "yes"].includes((process.env.PREFECTLITE_LAZARUS_RESCHEDULE_AGENTLESS ?? "").toLowerCase()),
  loopSeconds: () => numberSetting("PREFECTLITE_LOOP_SECONDS", 10),
  agentPollSeconds: () => numberSetting("PREFECTLITE_AGENT_POLL_SECONDS", 2),
  /** Warm children an agent keeps (0 turns them off). */
  agentWarmProcesses: () => (process.env.PREFECTLITE_AGENT_WARM_PROCESSES === "0" ? 0 : Math.floor(numberSetting("PREFECTLITE_AGENT_WARM_PROCESSES", 2))),
  agentRunsPerProcess: () => Math.max(1, Math.floor(numberSetting("PREFECTLITE_AGENT_RUNS_PER_PROCESS", 1))),
  /** A reused warm process past this resident memory after a run is let go (README, "Agents"). */
  agentMaxProcessMegabytes: () => numberSetting("PREFECTLITE_AGENT_MAX_PROCESS_MB", 512),
  watchAgentWarningSeconds: () => numberSetting("PREFECTLITE_WATCH_AGENT_WARNING_SECONDS", 15),
  schedulerMaxRuns: () => numberSetting("PREFECTLITE_SCHEDULER_MAX_RUNS", 10),
  // Bounds on one GraphQL request and on stored JSON (README "Security"): refused before any SQL runs.
  maxQueryDepth: () => intSetting("PREFECTLITE_MAX_QUERY_DEPTH", 12),
  maxQueryAliases: () => intSetting("PREFECTLITE_MAX_QUERY_ALIASES", 50),
  maxQueryFields: () => intSetting("PREFECTLITE_MAX_QUERY_FIELDS", 500),
  maxQueryRows: () => intSetting("PREFECTLITE_MAX_QUERY_ROWS", 100_000),
  /** A task result of at most this many bytes of JSON also goes into its Success state for Prefect 1's readers (0: never). */
  prefectResultBytes: () => intSetting("PREFECTLITE_PREFECT_RESULT_BYTES", 0),
  queryDefaultLimit: () => intSetting("PREFECTLITE_QUERY_DEFAULT_LIMIT", 1000),
  queryMaxLimit: () => intSetting("PREFECTLITE_QUERY_MAX_LIMIT", 10_000),
  maxWhereRelationDepth: () => intSetting("PREFECTLITE_MAX_WHERE_RELATION_DEPTH", 3),
  maxWhereConditions: () => intSetting("PREFECTLITE_MAX_WHERE_CONDITIONS", 500),
  maxOrderByTerms: () => intSetting("PREFECTLITE_MAX_ORDER_BY_TERMS", 20),
  maxJsonDepth: () => intSetting("PREFECTLITE_MAX_JSON_DEPTH", 64),
  maxMappedChildrenPerCall: () => intSetting("PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL", 10_000),
  /** How long loading a flow file (in its own process: watcher, register) may take before it is killed. */
  flowLoadTimeoutSeconds: () => numberSetting("PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS", 30),
  /** How long an agent's child may take to set its run Running before the agent kills it and fails the run. */
  agentStartTimeoutSeconds: () => numberSetting("PREFECTLITE_AGENT_START_TIMEOUT_SECONDS", 120),
  /** How long a run's process keeps retrying its writes while the server cannot be reached, before it stops. */
  backendRetrySeconds: () => numberSetting("PREFECTLITE_BACKEND_RETRY_SECONDS", 300),
  /** How long serve keeps trying a write while another process holds the database's write lock, before answering "the database is busy". */
  databaseBusyWaitSeconds: () => numberSetting("PREFECTLITE_DATABASE_BUSY_WAIT_SECONDS", 10),
  /**
   * How long the task runs under way in a cancelled run get to finish (and keep their Success)
   * before the run ends Cancelled without them and its process is stopped.
   */
  cancelGraceSeconds: () => numberSetting("PREFECTLITE_CANCEL_GRACE_SECONDS", 5),
  /**
   * When an agent (or `run --execute`) kills a cancelled run's process still going: after the grace,
   * plus the moment its runner needs to record the run Cancelled itself.
   */
  cancelKillSeconds: () => settings.cancelGraceSeconds() + 2,
};
