import type { StateType } from "../core/state.ts";
import { isMoved, type AbandonedRunState, type RunLogLine, type RunProcessBackend, type RunStanding } from "../run-process/backend.ts";
import type { BackendLocation } from "../run-process/environment.ts";
import type { ReadModel } from "../services/read-model.ts";
import type { Services } from "../services/index.ts";

export { isMoved, type RunStanding };

/** A run an agent has taken (Scheduled → Submitted), with what its process needs. */
export interface ClaimedFlowRun {
  id: string;
  /** The run config's environment for the child process (strings only). */
  env: Record<string, string>;
}

/** A log line of an agent on one of its runs (its logger's name: the agent's name). */
export type AgentLogLine = RunLogLine;

/**
 * What an agent asks of the backend. The in-process agent of `serve` calls the services
 * directly; `agent start` goes through the client (HTTP, or the embedded database).
 */
export interface AgentBackend extends Omit<RunProcessBackend, "claimRun"> {
  /** Register (or find) the agent with this name and labels; returns its id. */
  register(name: string, labels: readonly string[]): Promise<string>;
  /** Take up to `limit` due runs these labels cover, atomically; records the poll. */
  claim(agentId: string, labels: readonly string[], limit: number): Promise<ClaimedFlowRun[]>;
  /** Record a poll without taking anything (when every slot is busy). */
  poll(agentId: string, labels: readonly string[]): Promise<void>;
  /** Where the child process finds the backend: PREFECTLITE_API_URL or PREFECTLITE_HOME. */
  backendLocation(): BackendLocation;
  /** Free what the backend holds (connections). */
  close(): Promise<void>;
}

/** The run config's `env` as strings (other values are dropped: an environment holds text). */
export function runConfigEnv(runConfig: unknown): Record<string, string> {
  const env = (runConfig as { env?: unknown } | null)?.env;
  if (!env || typeof env !== "object" || Array.isArray(env)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v === "string") out[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[k] = String(v);
  }
  return out;
}

/** The in-process agent's backend: the services and read model of this process's database. */
export class ServicesAgentBackend implements AgentBackend {
  constructor(
    private readonly services: Pick<Services, "registerAgent" | "claimRuns" | "getRunsInQueue" | "writeRunLogs" | "endAbandonedRun">,
    private readonly reads: Pick<ReadModel, "byPk" | "select">,
    /** PREFECTLITE_HOME of the database, for the child processes. */
    private readonly home: string,
    /**
     * The server on this database (serve): the children then talk to it over HTTP instead of
     * each opening the database and building the GraphQL schema (~6× less CPU per child).
     */
    private readonly server?: { url: string; token?: string },
  ) {}

  async register(name: string, labels: readonly string[]): Promise<string> {
    return (await this.services.registerAgent({ type: "LocalAgent", name, labels: [...labels] })).id;
  }

  async claim(agentId: string, labels: readonly string[], limit: number): Promise<ClaimedFlowRun[]> {
    const claimed: ClaimedFlowRun[] = [];
    for (const run of await this.services.claimRuns({ agentId, labels: [...labels], limit })) {
      claimed.push({ id: run.id, env: runConfigEnv((await this.reads.byPk("flow_run", run.id, ["run_config"]))?.run_config) });
    }
    return claimed;
  }

  async poll(agentId: string, labels: readonly string[]): Promise<void> {
    await this.services.getRunsInQueue({ agentId, labels: [...labels], limit: 1 });
  }

  async writeLogs(lines: AgentLogLine[]): Promise<void> {
    await this.services.writeRunLogs(lines.map((l) => ({ flow_run_id: l.flowRunId, level: l.level, message: l.message, name: l.name })));
  }

  async runStandings(flowRunIds: readonly string[]): Promise<Map<string, RunStanding>> {
    const rows = await this.reads.select("flow_run", { where: { id: { _in: [...flowRunIds] } }, limit: flowRunIds.length }, ["id", "state", "version"]);
    return new Map(rows.map((r) => [String(r.id), { state: r.state as StateType, version: Number(r.version) }]));
  }

  async endAbandonedRun(flowRunId: string, state: AbandonedRunState, message: string, logger: string): Promise<{ state: StateType; changed: boolean }> {
    return await this.services.endAbandonedRun({ flowRunId, state, message, logger });
  }

  backendLocation(): BackendLocation {
    // PREFECTLITE_HOME also says where results go.
    return { home: this.home, apiUrl: this.server?.url, token: this.server?.token };
  }

  async close(): Promise<void> {}
}
