import { BackendClient } from "../client/client.ts";
import { HttpTransport } from "../client/http-transport.ts";
import type { StateType } from "../core/state.ts";
import { clientRunProcessBackend, type AbandonedRunState } from "../run-process/backend.ts";
import type { BackendLocation } from "../run-process/environment.ts";
import type { AgentBackend, AgentLogLine, ClaimedFlowRun, RunStanding } from "./agent-backend.ts";
import { runConfigEnv } from "./agent-backend.ts";

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

  writeLogs(lines: AgentLogLine[]): Promise<void> {
    return clientRunProcessBackend(this.client).writeLogs(lines);
  }

  runStandings(flowRunIds: readonly string[]): Promise<Map<string, RunStanding>> {
    return clientRunProcessBackend(this.client).runStandings(flowRunIds);
  }

  endAbandonedRun(flowRunId: string, state: AbandonedRunState, message: string, logger: string): Promise<{ state: StateType; changed: boolean }> {
    return clientRunProcessBackend(this.client).endAbandonedRun(flowRunId, state, message, logger);
  }

  backendLocation(): BackendLocation {
    if (this.options.apiUrl) return { apiUrl: this.options.apiUrl, token: this.options.token };
    return { home: this.options.embedded!.home };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
