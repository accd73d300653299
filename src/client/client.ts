import { PrefectliteError } from "../core/errors.ts";
import { LocalRun, UniversalRun, type RunConfig } from "../core/run-config.ts";
import { refuseSnakeCase } from "./snake-case.ts";
import type { SerializedFlow } from "../core/serialize.ts";
import type { SerializedState, State } from "../core/state.ts";
import type { DirectBackend, HeartbeatTarget, Transport } from "./transport.ts";

export interface CreateFlowRunInput {
  flowId?: string;
  versionGroupId?: string;
  flowGroupId?: string;
  parameters?: Record<string, unknown>;
  context?: Record<string, unknown>;
  labels?: string[];
  runName?: string;
  /** ISO time or Date; default now. */
  scheduledStartTime?: string | Date;
  idempotencyKey?: string;
  /** `new LocalRun({ env, labels })`, `new UniversalRun(…)` or a plain object (a UniversalRun). */
  runConfig?: RunConfig | Record<string, unknown>;
}

export interface ProjectRow {
  id: string;
  name: string;
  description: string | null;
  created: string;
}

export interface FlowRow {
  id: string;
  name: string;
  version: number;
  archived: boolean;
  version_group_id: string;
  flow_group_id: string;
  serialized_hash: string;
  created: string;
  project: { id: string; name: string };
}

const FLOW_FIELDS = "id name version archived version_group_id flow_group_id serialized_hash created project { id name }";

type TransportSource = Transport | (() => Promise<Transport>);

/**
 * The one client of the backend, for the SDK and the CLI alike. Every call is a GraphQL
 * operation, so it behaves the same in-process (embedded database) and over HTTP.
 */
export class BackendClient {
  private transport: Promise<Transport> | undefined;

  constructor(private readonly source: TransportSource) {}

  private connection(): Promise<Transport> {
    this.transport ??= typeof this.source === "function" ? this.source() : Promise.resolve(this.source);
    return this.transport;
  }

  /** Run any GraphQL operation against the backend. */
  async graphql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return (await this.connection()).request<T>(query, variables);
  }

  /** The backend's services, when it lives in this process (see Transport.direct). */
  async direct(): Promise<DirectBackend | undefined> {
    return (await this.connection()).direct;
  }

  /** How another thread of this process reaches the backend (see Transport.heartbeatTarget). */
  async heartbeatTarget(): Promise<HeartbeatTarget | undefined> {
    return (await this.connection()).heartbeatTarget;
  }

  async baseUrl(): Promise<string | undefined> {
    return (await this.connection()).baseUrl;
  }

  async close(): Promise<void> {
    if (this.transport) await (await this.transport).close();
    this.transport = undefined;
  }

  async findProject(name: string): Promise<ProjectRow | undefined> {
    const data = await this.graphql<{ project: ProjectRow[] }>(
      `query ($name: String!) { project(where: { name: { _eq: $name } }) { id name description created } }`,
      { name },
    );
    return data.project[0];
  }

  async listProjects(): Promise<ProjectRow[]> {
    const data = await this.graphql<{ project: ProjectRow[] }>(
      `query { project(order_by: { name: asc }) { id name description created } }`,
    );
    return data.project;
  }

  /** Create a project; an existing one is returned with `created: false`. */
  async createProject(name: string, description?: string): Promise<{ id: string; created: boolean }> {
    const existing = await this.findProject(name);
    if (existing) return { id: existing.id, created: false };
    const data = await this.graphql<{ create_project: { id: string } }>(
      `mutation ($input: create_project_input!) { create_project(input: $input) { id } }`,
      { input: { name, description: description ?? null } },
    );
    return { id: data.create_project.id, created: true };
  }

  async requireProject(name: string): Promise<ProjectRow> {
    const project = await this.findProject(name);
    if (!project) {
      throw new PrefectliteError("NotFound", `Project '${name}' does not exist: create it with prefectlite create project '${name}'`);
    }
    return project;
  }

  /** The newest version of a flow by name (in a project when given); undefined when none. */
  async latestFlow(name: string, projectName?: string): Promise<FlowRow | undefined> {
    const where: Record<string, unknown> = { name: { _eq: name } };
    if (projectName) where.project = { name: { _eq: projectName } };
    const data = await this.graphql<{ flow: FlowRow[] }>(
      `query ($where: flow_bool_exp) { flow(where: $where, order_by: { version: desc }, limit: 1) { ${FLOW_FIELDS} } }`,
      { where },
    );
    return data.flow[0];
  }

  async listFlows(options: { projectName?: string; name?: string; all?: boolean; limit?: number } = {}): Promise<FlowRow[]> {
    refuseSnakeCase(options, "Client.listFlows");
    const where: Record<string, unknown> = {};
    if (!options.all) where.archived = { _eq: false };
    if (options.name) where.name = { _eq: options.name };
    if (options.projectName) where.project = { name: { _eq: options.projectName } };
    const data = await this.graphql<{ flow: FlowRow[] }>(
      `query ($where: flow_bool_exp, $limit: Int) { flow(where: $where, order_by: [{ name: asc }, { version: desc }], limit: $limit) { ${FLOW_FIELDS} } }`,
      { where, limit: options.limit ?? 1000 },
    );
    return data.flow;
  }

  async createFlow(input: {
    serializedFlow: SerializedFlow;
    projectId: string;
    idempotencyKey?: string;
    setScheduleActive?: boolean;
  }): Promise<{ id: string; version: number; schedule_left_off: string | null }> {
    refuseSnakeCase(input, "Client.createFlow");
    const data = await this.graphql<{ create_flow: { id: string; version: number; schedule_left_off: string | null } }>(
      `mutation ($input: create_flow_input!) { create_flow(input: $input) { id version schedule_left_off } }`,
      {
        input: {
          serialized_flow: input.serializedFlow,
          project_id: input.projectId,
          idempotency_key: input.idempotencyKey ?? null,
          set_schedule_active: input.setScheduleActive ?? true,
        },
      },
    );
    return data.create_flow;
  }

  /** Create a flow run and return its id. */
  async createFlowRun(input: CreateFlowRunInput): Promise<string> {
    refuseSnakeCase(input, "Client.createFlowRun");
    if (input?.flowId == null && input?.versionGroupId == null && input?.flowGroupId == null) {
      throw new PrefectliteError("Validation", "Client.createFlowRun needs the flow: give flowId, versionGroupId or flowGroupId");
    }
    const start = input.scheduledStartTime;
    const data = await this.graphql<{ create_flow_run: { id: string } }>(
      `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`,
      {
        input: {
          flow_id: input.flowId ?? null,
          version_group_id: input.versionGroupId ?? null,
          flow_group_id: input.flowGroupId ?? null,
          parameters: input.parameters ?? null,
          context: input.context ?? null,
          labels: input.labels ?? null,
          flow_run_name: input.runName ?? null,
          scheduled_start_time: start === undefined ? null : start instanceof Date ? start.toISOString() : start,
          idempotency_key: input.idempotencyKey ?? null,
          run_config: input.runConfig instanceof LocalRun || input.runConfig instanceof UniversalRun ? input.runConfig.toJSON() : (input.runConfig ?? null),
        },
      },
    );
    return data.create_flow_run.id;
  }

  /** Set a flow run's state; `version` is the one you read (optimistic locking). */
  async setFlowRunState(flowRunId: string, version: number, state: State | SerializedState): Promise<void> {
    const serialized = "toJSON" in state && typeof state.toJSON === "function" ? state.toJSON() : state;
    await this.graphql(
      `mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id status message } } }`,
      { input: { states: [{ flow_run_id: flowRunId, version, state: serialized }] } },
    );
  }
}
