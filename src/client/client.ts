import { PrefectliteError } from "../core/errors.ts";
import { LocalRun, UniversalRun, type RunConfig } from "../core/run-config.ts";
import { refuseSnakeCase } from "./snake-case.ts";
import type { SerializedFlow } from "../core/serialize.ts";
import type { SerializedState, State } from "../core/state.ts";
import type { Backend, FlowRow, ListFlowsOptions, ProjectRow } from "./backend.ts";

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

export type { FlowRow, ProjectRow };

type BackendSource = Backend | (() => Promise<Backend>);

/**
 * The backend as the SDK (`Client`) and the CLI see it: a thin facade over the one Backend
 * (in-process or HTTP, opened on first use) that checks what a person passes before it travels.
 */
export class BackendClient {
  private opened: Promise<Backend> | undefined;

  constructor(private readonly source: BackendSource) {}

  /** The backend, opened on first use; every layer below the SDK and the CLI works on it. */
  backend(): Promise<Backend> {
    this.opened ??= typeof this.source === "function" ? this.source() : Promise.resolve(this.source);
    return this.opened;
  }

  /** Run any GraphQL operation against the backend. */
  async graphql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return (await this.backend()).graphql<T>(query, variables);
  }

  async baseUrl(): Promise<string | undefined> {
    return (await this.backend()).baseUrl;
  }

  async close(): Promise<void> {
    if (this.opened) await (await this.opened).close();
    this.opened = undefined;
  }

  findProject(name: string): Promise<ProjectRow | undefined> {
    return this.backend().then((b) => b.findProject(name));
  }

  listProjects(): Promise<ProjectRow[]> {
    return this.backend().then((b) => b.listProjects());
  }

  /** Create a project; an existing one is returned with `created: false`. */
  createProject(name: string, description?: string): Promise<{ id: string; created: boolean }> {
    return this.backend().then((b) => b.createProject(name, description));
  }

  async requireProject(name: string): Promise<ProjectRow> {
    const project = await this.findProject(name);
    if (!project) {
      throw new PrefectliteError("NotFound", `Project '${name}' does not exist: create it with prefectlite create project '${name}'`);
    }
    return project;
  }

  /** The newest version of a flow by name (in a project when given); undefined when none. */
  latestFlow(name: string, projectName?: string): Promise<FlowRow | undefined> {
    return this.backend().then((b) => b.latestFlow(name, projectName));
  }

  async listFlows(options: ListFlowsOptions = {}): Promise<FlowRow[]> {
    refuseSnakeCase(options, "Client.listFlows");
    return (await this.backend()).listFlows(options);
  }

  async createFlow(input: {
    serializedFlow: SerializedFlow;
    projectId: string;
    idempotencyKey?: string;
    setScheduleActive?: boolean;
  }): Promise<{ id: string; version: number; schedule_left_off: string | null }> {
    refuseSnakeCase(input, "Client.createFlow");
    return (await this.backend()).createFlow(input);
  }

  /** Create a flow run and return its id. */
  async createFlowRun(input: CreateFlowRunInput): Promise<string> {
    refuseSnakeCase(input, "Client.createFlowRun");
    if (input?.flowId == null && input?.versionGroupId == null && input?.flowGroupId == null) {
      throw new PrefectliteError("Validation", "Client.createFlowRun needs the flow: give flowId, versionGroupId or flowGroupId");
    }
    const start = input.scheduledStartTime;
    return (await this.backend()).createFlowRun({
      flowId: input.flowId ?? undefined,
      versionGroupId: input.versionGroupId ?? undefined,
      flowGroupId: input.flowGroupId ?? undefined,
      parameters: input.parameters ?? undefined,
      context: input.context ?? undefined,
      labels: input.labels ?? undefined,
      runName: input.runName ?? undefined,
      scheduledStartTime: start == null ? undefined : start instanceof Date ? start.toISOString() : start,
      idempotencyKey: input.idempotencyKey ?? undefined,
      runConfig: input.runConfig instanceof LocalRun || input.runConfig instanceof UniversalRun ? (input.runConfig.toJSON() as unknown as Record<string, unknown>) : ((input.runConfig as Record<string, unknown> | undefined) ?? undefined),
    });
  }

  /** Set a flow run's state; `version` is the one you read (optimistic locking). */
  async setFlowRunState(flowRunId: string, version: number, state: State | SerializedState): Promise<void> {
    const serialized = "toJSON" in state && typeof state.toJSON === "function" ? state.toJSON() : state;
    await (await this.backend()).setFlowRunState(flowRunId, version, serialized as SerializedState);
  }
}
