import { BackendClient } from "../client/client.ts";
import { HttpTransport } from "../client/http-transport.ts";
import type { StateType } from "../core/state.ts";
import type { AgentBackend, AgentLogLine, ClaimedFlowRun, RunStanding } from "./agent-backend.ts";
import { isMoved, runConfigEnv } from "./agent-backend.ts";

export interface ClientAgentBackendOptions {
  /** The server (PREFECTLITE_API_URL); without one, `embedded` is used. */
  apiUrl?: string;
  token?: string;
  /** A client on the embedded database, and its PREFECTLITE_HOME (for the children). */
  embedded?: { client: BackendClient; home: string };
}

/**
 * `agent start`'s backend: GraphQL through the client — over HTTP to a server (every request
 * after registration carries `X-Prefect-Agent-Id`), or in-process on the embedded database.
 */
export class ClientAgentBackend implements AgentBackend {
  private client: BackendClient;

  constructor(private readonly options: ClientAgentBackendOptions) {
    if (options.apiUrl) this.client = new BackendClient(new HttpTransport(options.apiUrl, options.token));
    else if (options.embedded) this.client = options.embedded.client;
    else throw new Error("ClientAgentBackend needs an API URL or an embedded client");
  }

  async register(name: string, labels: readonly string[]): Promise<string> {
    const data = await this.client.graphql<{ register_agent: { id: string } }>(
      `mutation ($input: register_agent_input!) { register_agent(input: $input) { id } }`,
      { input: { type: "LocalAgent", name, labels } },
    );
    const id = data.register_agent.id;
    if (this.options.apiUrl) {
      await this.client.close();
      this.client = new BackendClient(new HttpTransport(this.options.apiUrl, this.options.token, { "X-Prefect-Agent-Id": id }));
    }
    return id;
  }

  async claim(agentId: string, labels: readonly string[], limit: number): Promise<ClaimedFlowRun[]> {
    const data = await this.client.graphql<{ claim_flow_runs: { flow_runs: Array<{ id: string }> } }>(
      `mutation ($input: claim_flow_runs_input!) { claim_flow_runs(input: $input) { flow_runs { id } } }`,
      { input: { agent_id: agentId, labels, limit } },
    );
    const ids = data.claim_flow_runs.flow_runs.map((r) => r.id);
    if (ids.length === 0) return [];
    const configs = await this.client.graphql<{ flow_run: Array<{ id: string; run_config: unknown }> }>(
      `query ($ids: [uuid!]) { flow_run(where: { id: { _in: $ids } }) { id run_config } }`,
      { ids },
    );
    const byId = new Map(configs.flow_run.map((r) => [r.id, r.run_config]));
    return ids.map((id) => ({ id, env: runConfigEnv(byId.get(id)) }));
  }

  async poll(agentId: string, labels: readonly string[]): Promise<void> {
    await this.client.graphql(
      `mutation ($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }`,
      { input: { agent_id: agentId, labels } },
    );
  }

  async writeLogs(lines: AgentLogLine[]): Promise<void> {
    await this.client.graphql(`mutation ($input: write_run_logs_input!) { write_run_logs(input: $input) { success } }`, {
      input: { logs: lines.map((l) => ({ flow_run_id: l.flowRunId, level: l.level, message: l.message, name: l.name })) },
    });
  }

  async runStandings(flowRunIds: readonly string[]): Promise<Map<string, RunStanding>> {
    const data = await this.client.graphql<{ flow_run: Array<{ id: string; state: StateType; version: number }> }>(
      `query ($ids: [uuid!], $limit: Int) { flow_run(where: { id: { _in: $ids } }, limit: $limit) { id state version } }`,
      { ids: flowRunIds, limit: flowRunIds.length },
    );
    return new Map(data.flow_run.map((r) => [r.id, { state: r.state, version: r.version }]));
  }

  async failRun(flowRunId: string, version: number, message: string): Promise<boolean> {
    try {
      await this.client.setFlowRunState(flowRunId, version, { type: "Failed", message });
      return true;
    } catch (e) {
      if (isMoved(e)) return false;
      throw e;
    }
  }

  childEnv(): Record<string, string> {
    if (this.options.apiUrl) return { PREFECTLITE_API_URL: this.options.apiUrl };
    return { PREFECTLITE_HOME: this.options.embedded!.home };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
