import { PrefectliteError, errorMessage, type ErrorCode } from "../core/errors.ts";
import type { SerializedState, StateType } from "../core/state.ts";
import { settings } from "../settings.ts";
import {
  claimedRun,
  type AbandonedRunState,
  type Backend,
  type BackendLocation,
  type ClaimedFlowRun,
  type CreateFlowInput,
  type FlowRow,
  type FlowRunDetails,
  type FlowRunInput,
  type ListFlowsOptions,
  type LogRow,
  type ProjectRow,
  type RunLogLine,
  type RunStanding,
  type RunWriteBatch,
  type TaskRunRow,
  type TaskRunStateWrite,
  type ThreadWatch,
  type ThreadWatchOptions,
} from "./backend.ts";
import * as doc from "./documents.ts";
import { watchFromThread } from "./heartbeat-thread.ts";
import { mappedChildrenInPages } from "./mapped-children.ts";

/** The backend as a prefectlite server's GraphQL API over HTTP (`--api URL`, PREFECTLITE_API_URL). */
export class HttpBackend implements Backend {
  readonly baseUrl: string;
  private readonly endpoint: string;
  /** Set by registerAgent: every later request carries `X-Prefect-Agent-Id`. */
  private agentId: string | undefined;

  constructor(
    private readonly apiUrl: string,
    private readonly token?: string,
  ) {
    let url: URL;
    try {
      url = new URL(apiUrl);
    } catch {
      throw new PrefectliteError("Usage", `invalid API URL '${apiUrl}': use e.g. http://127.0.0.1:4200`);
    }
    const path = url.pathname.replace(/\/+$/, "");
    this.baseUrl = `${url.origin}${path.replace(/\/graphql$/, "")}`;
    this.endpoint = `${this.baseUrl}/graphql`;
  }

  /** The token and the agent's id every request carries (the heartbeat thread's too). */
  private get headers(): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(this.agentId ? { "X-Prefect-Agent-Id": this.agentId } : {}) };
  }

  /** `signal` (not part of Backend.graphql): abort the request. */
  async graphql<T = Record<string, unknown>>(document: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.headers },
        body: JSON.stringify({ query: document, variables }),
        signal,
      });
    } catch (e) {
      throw new PrefectliteError("Unavailable", `could not reach the prefectlite server at ${this.baseUrl}: ${errorMessage(e)}`);
    }
    if (response.status === 401) throw new PrefectliteError("Usage", `the server at ${this.baseUrl} refused the API token (set PREFECTLITE_API_TOKEN)`);
    let body: { data?: T; errors?: GraphQLErrorShape[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new PrefectliteError("Unavailable", `the server at ${this.baseUrl} answered ${response.status} without JSON`);
    }
    if (body.errors?.length) throw errorFromGraphQL(body.errors);
    if (!response.ok || body.data === undefined) {
      throw new PrefectliteError("Unavailable", `the server at ${this.baseUrl} answered ${response.status}`);
    }
    return body.data;
  }

  async close(): Promise<void> {}

  async findProject(name: string): Promise<ProjectRow | undefined> {
    return (await this.graphql<{ project: ProjectRow[] }>(doc.FIND_PROJECT, { name })).project[0];
  }

  async listProjects(): Promise<ProjectRow[]> {
    return (await this.graphql<{ project: ProjectRow[] }>(doc.LIST_PROJECTS)).project;
  }

  async createProject(name: string, description?: string): Promise<{ id: string; created: boolean }> {
    const existing = await this.findProject(name);
    if (existing) return { id: existing.id, created: false };
    const data = await this.graphql<{ create_project: { id: string } }>(doc.CREATE_PROJECT, { input: { name, description: description ?? null } });
    return { id: data.create_project.id, created: true };
  }

  async latestFlow(name: string, projectName?: string): Promise<FlowRow | undefined> {
    const where: Record<string, unknown> = { name: { _eq: name } };
    if (projectName) where.project = { name: { _eq: projectName } };
    return (await this.graphql<{ flow: FlowRow[] }>(doc.LATEST_FLOW, { where })).flow[0];
  }

  async listFlows(options: ListFlowsOptions = {}): Promise<FlowRow[]> {
    const where: Record<string, unknown> = {};
    if (!options.all) where.archived = { _eq: false };
    if (options.name) where.name = { _eq: options.name };
    if (options.projectName) where.project = { name: { _eq: options.projectName } };
    return (await this.graphql<{ flow: FlowRow[] }>(doc.LIST_FLOWS, { where, limit: options.limit ?? 1000 })).flow;
  }

  async createFlow(input: CreateFlowInput): Promise<{ id: string; version: number; schedule_left_off: string | null }> {
    const data = await this.graphql<{ create_flow: { id: string; version: number; schedule_left_off: string | null } }>(doc.CREATE_FLOW, {
      input: {
        serialized_flow: input.serializedFlow,
        project_id: input.projectId,
        idempotency_key: input.idempotencyKey ?? null,
        set_schedule_active: input.setScheduleActive ?? true,
      },
    });
    return data.create_flow;
  }

  async archiveFlow(flowId: string): Promise<void> {
    await this.graphql(doc.ARCHIVE_FLOW, { input: { flow_id: flowId } });
  }

  async createFlowRun(input: FlowRunInput): Promise<string> {
    const data = await this.graphql<{ create_flow_run: { id: string } }>(doc.CREATE_FLOW_RUN, {
      input: {
        flow_id: input.flowId ?? null,
        version_group_id: input.versionGroupId ?? null,
        flow_group_id: input.flowGroupId ?? null,
        parameters: input.parameters ?? null,
        context: input.context ?? null,
        labels: input.labels ?? null,
        flow_run_name: input.runName ?? null,
        scheduled_start_time: input.scheduledStartTime ?? null,
        idempotency_key: input.idempotencyKey ?? null,
        run_config: input.runConfig ?? null,
      },
    });
    return data.create_flow_run.id;
  }

  async readFlowRun(id: string): Promise<FlowRunDetails | undefined> {
    const page = settings.queryMaxLimit();
    const run = (await this.graphql<{ flow_run_by_pk: FlowRunDetails | null }>(doc.READ_FLOW_RUN, { id, page })).flow_run_by_pk;
    if (!run) return undefined;
    // A list is read a page at a time (the server bounds every limit): the rest of a large map.
    for (let offset = page; run.task_runs.length === offset; offset += page) {
      const more = await this.graphql<{ task_run: TaskRunRow[] }>(doc.READ_FLOW_RUN_TASK_RUNS, { id, page, offset });
      run.task_runs.push(...more.task_run);
    }
    return run;
  }

  async readFlowRunState(id: string): Promise<{ state: StateType; version: number } | undefined> {
    return (await this.graphql<{ flow_run_by_pk: { state: StateType; version: number } | null }>(doc.FLOW_RUN_STATE, { id })).flow_run_by_pk ?? undefined;
  }

  async readTaskRuns(ids: readonly string[]): Promise<TaskRunRow[]> {
    const page = settings.queryMaxLimit();
    const rows: TaskRunRow[] = [];
    for (let i = 0; i < ids.length; i += page) {
      const chunk = ids.slice(i, i + page);
      rows.push(...(await this.graphql<{ task_run: TaskRunRow[] }>(doc.READ_TASK_RUNS, { ids: chunk, limit: chunk.length })).task_run);
    }
    return rows;
  }

  async setFlowRunState(id: string, version: number, state: SerializedState, writeId?: string): Promise<number> {
    const data = await this.graphql<{ set_flow_run_states: { states: Array<{ version: number }> } }>(doc.SET_FLOW_RUN_STATES, {
      input: { states: [{ flow_run_id: id, version, state, write_id: writeId }] },
    });
    return data.set_flow_run_states.states[0]!.version;
  }

  async setTaskRunStates(items: readonly TaskRunStateWrite[]): Promise<number[]> {
    const data = await this.graphql<{ set_task_run_states: { states: Array<{ version: number }> } }>(doc.SET_TASK_RUN_STATES, { input: taskRunStatesInput(items) });
    return data.set_task_run_states.states.map((s) => s.version);
  }

  async mappedChildren(flowRunId: string, taskSlug: string, count: number): Promise<TaskRunRow[]> {
    return mappedChildrenInPages(count, async (start, size) => {
      const data = await this.graphql<{ get_or_create_mapped_task_runs: { task_runs: TaskRunRow[] } }>(doc.MAPPED_CHILDREN, {
        input: { flow_run_id: flowRunId, task_slug: taskSlug, count: size, start },
      });
      return data.get_or_create_mapped_task_runs.task_runs;
    });
  }

  async writeLogs(logs: readonly LogRow[]): Promise<void> {
    await this.graphql(doc.WRITE_RUN_LOGS, { input: { logs } });
  }

  async writeBatch(batch: RunWriteBatch): Promise<{ taskRunVersions: number[]; flowRunVersion?: number }> {
    type Written = { states: Array<{ version: number }> };
    const flow = batch.flowRunState;
    const data = await this.graphql<{ taskRuns: Written; flowRun?: Written }>(flow ? doc.WRITE_BATCH_WITH_FLOW_RUN_STATE : doc.WRITE_BATCH, {
      states: taskRunStatesInput(batch.taskRunStates),
      logs: { logs: batch.logs },
      ...(flow ? { flow: { states: [{ flow_run_id: flow.id, version: flow.version, state: flow.state, write_id: flow.writeId }] } } : {}),
    });
    return { taskRunVersions: data.taskRuns.states.map((s) => s.version), flowRunVersion: data.flowRun?.states[0]!.version };
  }

  async heartbeat(flowRunId: string): Promise<void> {
    await this.graphql(doc.HEARTBEAT, { input: { flow_run_id: flowRunId } });
  }

  async cancel(flowRunId: string): Promise<StateType> {
    return (await this.graphql<{ cancel_flow_run: { state: StateType } }>(doc.CANCEL_FLOW_RUN, { input: { flow_run_id: flowRunId } })).cancel_flow_run.state;
  }

  watchFromThread(flowRunId: string, options: ThreadWatchOptions): ThreadWatch | undefined {
    return watchFromThread({ kind: "http", endpoint: this.endpoint, headers: this.headers }, flowRunId, options);
  }

  async registerAgent(name: string, labels: readonly string[]): Promise<string> {
    const data = await this.graphql<{ register_agent: { id: string } }>(doc.REGISTER_AGENT, { input: { type: "LocalAgent", name, labels } });
    this.agentId = data.register_agent.id;
    return this.agentId;
  }

  async waitForRuns(labels: readonly string[], waitMs: number, signal: AbortSignal): Promise<boolean | undefined> {
    try {
      const data = await this.graphql<{ wait_for_flow_runs: { due: boolean } }>(doc.WAIT_FOR_FLOW_RUNS, { input: { labels, wait_ms: Math.max(0, Math.round(waitMs)) } }, signal);
      return data.wait_for_flow_runs.due;
    } catch (e) {
      // A server without the field (an older prefectlite, a Prefect server) refuses the document.
      if (e instanceof PrefectliteError && /wait_for_flow_runs/.test(e.message) && e.code !== "Unavailable") return undefined;
      throw e;
    }
  }

  async claimRuns(agentId: string, labels: readonly string[], limit: number): Promise<ClaimedFlowRun[]> {
    const data = await this.graphql<{ claim_flow_runs: { flow_runs: Array<{ id: string; run_config: unknown }> } }>(doc.CLAIM_FLOW_RUNS, {
      input: { agent_id: agentId, labels, limit },
    });
    return data.claim_flow_runs.flow_runs.map((r) => claimedRun(r.id, r.run_config));
  }

  async pollRuns(agentId: string, labels: readonly string[]): Promise<void> {
    await this.graphql(doc.RUNS_IN_QUEUE, { input: { agent_id: agentId, labels } });
  }

  async runStandings(flowRunIds: readonly string[]): Promise<Map<string, RunStanding>> {
    if (flowRunIds.length === 0) return new Map();
    const data = await this.graphql<{ flow_run: Array<{ id: string; state: StateType; version: number }> }>(doc.RUN_STANDINGS, {
      ids: flowRunIds,
      limit: flowRunIds.length,
    });
    return new Map(data.flow_run.map((r) => [r.id, { state: r.state, version: r.version }]));
  }

  async endAbandonedRun(flowRunId: string, state: AbandonedRunState, message: string, logger: string): Promise<{ state: StateType; changed: boolean }> {
    const data = await this.graphql<{ end_abandoned_flow_run: { state: StateType; changed: boolean } }>(doc.END_ABANDONED_FLOW_RUN, {
      input: { flow_run_id: flowRunId, state, message, logger },
    });
    return data.end_abandoned_flow_run;
  }

  async writeRunLogs(lines: readonly RunLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.graphql(doc.WRITE_RUN_LOGS, { input: { logs: lines.map((l) => ({ flow_run_id: l.flowRunId, level: l.level, message: l.message, name: l.name })) } });
  }

  location(): BackendLocation {
    return { apiUrl: this.apiUrl, token: this.token };
  }
}

/** set_task_run_states' input for these writes. */
function taskRunStatesInput(items: readonly TaskRunStateWrite[]) {
  return { states: items.map((i) => ({ task_run_id: i.taskRunId, version: i.version, state: i.state, write_id: i.writeId })) };
}

export interface GraphQLErrorShape {
  message: string;
  /** detail: what a message in Prefect's fixed wording means here ("Uniqueness violation." → which name). */
  extensions?: { code?: string; detail?: string };
}

const CODES: Record<string, ErrorCode> = {
  NOT_FOUND: "NotFound",
  VALIDATION: "Validation",
  VERSION_CONFLICT: "VersionConflict",
  CONFLICT: "Conflict",
  UNAUTHENTICATED: "Usage",
  BAD_USER_INPUT: "Validation",
  GRAPHQL_VALIDATION_FAILED: "Validation",
  GRAPHQL_PARSE_FAILED: "Validation",
  FLOW_LOAD: "FlowLoad",
  NOT_SUPPORTED: "Validation",
  UNAVAILABLE: "Unavailable",
  INTERNAL: "Internal",
};

/** The first GraphQL error as a PrefectliteError, keeping its code (the in-process executor's errors too). */
export function errorFromGraphQL(errors: readonly GraphQLErrorShape[]): PrefectliteError {
  const first = errors[0]!;
  const code = CODES[first.extensions?.code ?? ""] ?? "Internal";
  const detail = first.extensions?.detail;
  return new PrefectliteError(code, typeof detail === "string" && detail ? detail : first.message);
}
