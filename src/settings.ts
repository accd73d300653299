import { homedir } from "node:os";
import { join, resolve } from "node:path";

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

export const settings = {
  home: () => resolve(process.env.PREFECTLITE_HOME || join(homedir(), ".prefectlite")),
  databasePath: () => join(settings.home(), "prefectlite.db"),
  resultsDir: () => join(settings.home(), "results"),
  apiUrl: () => process.env.PREFECTLITE_API_URL || undefined,
  apiToken: () => process.env.PREFECTLITE_API_TOKEN || undefined,
  heartbeatSeconds: () => numberSetting("PREFECTLITE_HEARTBEAT_SECONDS", 30),
  zombieMissedHeartbeats: () => numberSetting("PREFECTLITE_ZOMBIE_MISSED_HEARTBEATS", 4),
  lazarusAfterSeconds: () => numberSetting("PREFECTLITE_LAZARUS_AFTER_SECONDS", 600),
  loopSeconds: () => numberSetting("PREFECTLITE_LOOP_SECONDS", 10),
  agentPollSeconds: () => numberSetting("PREFECTLITE_AGENT_POLL_SECONDS", 2),
  /** Warm children an agent keeps (0 turns them off). */
  agentWarmProcesses: () => (process.env.PREFECTLITE_AGENT_WARM_PROCESSES === "0" ? 0 : Math.floor(numberSetting("PREFECTLITE_AGENT_WARM_PROCESSES", 2))),
  agentRunsPerProcess: () => Math.max(1, Math.floor(numberSetting("PREFECTLITE_AGENT_RUNS_PER_PROCESS", 1))),
  watchAgentWarningSeconds: () => numberSetting("PREFECTLITE_WATCH_AGENT_WARNING_SECONDS", 15),
  schedulerMaxRuns: () => numberSetting("PREFECTLITE_SCHEDULER_MAX_RUNS", 10),
  /** How long a run's process keeps retrying its writes while the server cannot be reached, before it stops. */
  backendRetrySeconds: () => numberSetting("PREFECTLITE_BACKEND_RETRY_SECONDS", 300),
};
