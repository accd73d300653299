import { settings } from "../settings.ts";
import type { BackendClient } from "./client.ts";
import type { RunConfig, Storage } from "../core/flow.ts";
import type { SerializedState, StateType } from "../core/state.ts";

/** One task run as the backed runner tracks it. */
export interface TaskRunRow {
  id: string;
  task_slug: string;
  map_index: number;
  version: number;
  state: StateType;
  serialized_state: SerializedState | null;
}

/** Everything a backed runner reads about its flow run before it starts. */
export interface FlowRunDetails {
  id: string;
  name: string;
  version: number;
  state: StateType;
  serialized_state: SerializedState | null;
  scheduled_start_time: string | null;
  parameters: Record<string, unknown> | null;
  labels: string[] | null;
  run_config: RunConfig | null;
  flow: {
    id: string;
    name: string;
    serialized_hash: string;
    storage: Storage | null;
    run_config: RunConfig | null;
    flow_group: { settings: Record<string, unknown> | null } | null;
  };
  task_runs: TaskRunRow[];
}

export interface TaskRunStateWrite {
  taskRunId: string;
  version: number;
  state: SerializedState;
  /** The writer's id for the write (a UUID): sent again on a retry, it is not made twice. */
  writeId?: string;
}

export interface RunWriteBatch {
  taskRunStates: readonly TaskRunStateWrite[];
  logs: readonly LogRow[];
  /** Written last; without it the batch is a checkpoint of the run's states and logs. */
  flowRunState?: { id: string; version: number; state: SerializedState; writeId?: string };
}

export interface LogRow {
  flow_run_id: string;
  task_run_id: string | null;
  timestamp: string;
  name: string;
  level: string;
  message: string;
  /** The writer's id for the line (a UUID): sent again on a retry, it is not stored twice. */
  write_id?: string;
}

const TASK_RUN_FIELDS = "id task_slug map_index version state serialized_state";

/**
 * The few operations one backed flow run needs. Errors come back as PrefectliteErrors with the
 * backend's codes (VersionConflict, Conflict, NotFound, Unavailable…), whichever way they travel.
 */
export interface RunApi {
  readFlowRun(id: string): Promise<FlowRunDetails | undefined>;
  readFlowRunState(id: string): Promise<{ state: StateType; version: number } | undefined>;
  readTaskRuns(ids: readonly string[]): Promise<TaskRunRow[]>;
  /** Returns the run's new version (with `writeId` already stored: the version that write made). */
  setFlowRunState(id: string, version: number, state: SerializedState, writeId?: string): Promise<number>;
  /** One transaction: all written, or none (the error says why). Returns each run's new version. */
  setTaskRunStates(items: readonly TaskRunStateWrite[]): Promise<number[]>;
  /**
   * Children 0…count-1 of a mapped task run, created where missing: one call (one transaction)
   * per PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL children.
   */
  mappedChildren(flowRunId: string, taskSlug: string, count: number): Promise<TaskRunRow[]>;
  writeLogs(logs: readonly LogRow[]): Promise<void>;
  /**
   * Task-run states, logs, then (when given) the flow run's state, in one transaction: all written, or none
   * (the error says why). In-process one services call; over HTTP one mutation document (a
   * document is all or nothing). A RunApi without it gets them written one after another.
   */
  writeBatch?(batch: RunWriteBatch): Promise<{ taskRunVersions: number[]; flowRunVersion?: number }>;
  heartbeat(flowRunId: string): Promise<void>;
  cancel(flowRunId: string): Promise<StateType>;
}

/**
 * The run API of a client: straight to the services when the client holds the embedded
 * database in this process (GraphQL's parsing of variables and building of results was about a
 * third of a hello-world run there), else its GraphQL operations.
 */
export async function runApiFor(client: BackendClient): Promise<RunApi> {
  const direct = await client.direct();
  if (!direct) return new GraphqlRunApi(client);
  const { ServicesRunApi } = await import("./services-run-api.ts");
  return new ServicesRunApi(direct);
}

/** The run API as GraphQL operations over the one client, for a server over HTTP. */
export class GraphqlRunApi implements RunApi {
  constructor(readonly client: BackendClient) {}

  async readFlowRun(id: string): Promise<FlowRunDetails | undefined> {
    const page = settings.queryMaxLimit();
    const data = await this.client.graphql<{ flow_run_by_pk: FlowRunDetails | null }>(
      `query ($id: uuid!, $page: Int!) { flow_run_by_pk(id: $id) {
        id name version state serialized_state scheduled_start_time parameters labels run_config
        flow { id name serialized_hash storage run_config flow_group { settings } }
        task_runs(order_by: [{ task_slug: asc }, { map_index: asc }], limit: $page) { ${TASK_RUN_FIELDS} }
      } }`,
      { id, page },
    );
    const run = data.flow_run_by_pk;
    if (!run) return undefined;
    // A list is read a page at a time (the server bounds every limit): the rest of a large map.
    for (let offset = page; run.task_runs.length === offset; offset += page) {
      const more = await this.client.graphql<{ task_run: TaskRunRow[] }>(
        `query ($id: uuid!, $page: Int!, $offset: Int!) {
          task_run(where: { flow_run_id: { _eq: $id } }, order_by: [{ task_slug: asc }, { map_index: asc }], limit: $page, offset: $offset) { ${TASK_RUN_FIELDS} }
        }`,
        { id, page, offset },
      );
      run.task_runs.push(...more.task_run);
    }
    return run;
  }

  async readFlowRunState(id: string): Promise<{ state: StateType; version: number } | undefined> {
    const data = await this.client.graphql<{ flow_run_by_pk: { state: StateType; version: number } | null }>(
      `query ($id: uuid!) { flow_run_by_pk(id: $id) { state version } }`,
      { id },
    );
    return data.flow_run_by_pk ?? undefined;
  }

  async readTaskRuns(ids: readonly string[]): Promise<TaskRunRow[]> {
    const page = settings.queryMaxLimit();
    const rows: TaskRunRow[] = [];
    for (let i = 0; i < ids.length; i += page) {
      const chunk = ids.slice(i, i + page);
      const data = await this.client.graphql<{ task_run: TaskRunRow[] }>(
        `query ($ids: [uuid!], $limit: Int!) { task_run(where: { id: { _in: $ids } }, limit: $limit) { ${TASK_RUN_FIELDS} } }`,
        { ids: chunk, limit: chunk.length },
      );
      rows.push(...data.task_run);
    }
    return rows;
  }

  /** Returns the run's new version. */
  async setFlowRunState(id: string, version: number, state: SerializedState, writeId?: string): Promise<number> {
    const data = await this.client.graphql<{ set_flow_run_states: { states: Array<{ version: number }> } }>(
      `mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { version } } }`,
      { input: { states: [{ flow_run_id: id, version, state, write_id: writeId }] } },
    );
    return data.set_flow_run_states.states[0]!.version;
  }

  /** One transaction: all written, or none (the error says why). Returns each run's new version. */
  async setTaskRunStates(items: readonly TaskRunStateWrite[]): Promise<number[]> {
    const data = await this.client.graphql<{ set_task_run_states: { states: Array<{ version: number }> } }>(
      `mutation ($input: set_task_run_states_input!) { set_task_run_states(input: $input) { states { version } } }`,
      { input: taskRunStatesInput(items) },
    );
    return data.set_task_run_states.states.map((s) => s.version);
  }

  /** Children 0…count-1 of a mapped task run, created where missing (one call per page). */
  async mappedChildren(flowRunId: string, taskSlug: string, count: number): Promise<TaskRunRow[]> {
    return mappedChildrenInPages(count, async (start, size) => {
      const data = await this.client.graphql<{ get_or_create_mapped_task_runs: { task_runs: TaskRunRow[] } }>(
        `mutation ($input: get_or_create_mapped_task_runs_input!) {
          get_or_create_mapped_task_runs(input: $input) { task_runs { ${TASK_RUN_FIELDS} } } }`,
        { input: { flow_run_id: flowRunId, task_slug: taskSlug, count: size, start } },
      );
      return data.get_or_create_mapped_task_runs.task_runs;
    });
  }

  async writeLogs(logs: readonly LogRow[]): Promise<void> {
    await this.client.graphql(
      `mutation ($input: write_run_logs_input!) { write_run_logs(input: $input) { written } }`,
      { input: { logs } },
    );
  }

  async writeBatch(batch: RunWriteBatch): Promise<{ taskRunVersions: number[]; flowRunVersion?: number }> {
    type Written = { states: Array<{ version: number }> };
    const flow = batch.flowRunState;
    const data = await this.client.graphql<{ taskRuns: Written; flowRun?: Written }>(
      flow ? BATCH_WITH_FLOW_RUN_STATE : BATCH,
      {
        states: taskRunStatesInput(batch.taskRunStates),
        logs: { logs: batch.logs },
        ...(flow ? { flow: { states: [{ flow_run_id: flow.id, version: flow.version, state: flow.state, write_id: flow.writeId }] } } : {}),
      },
    );
    return { taskRunVersions: data.taskRuns.states.map((s) => s.version), flowRunVersion: data.flowRun?.states[0]!.version };
  }

  async heartbeat(flowRunId: string): Promise<void> {
    await this.client.graphql(
      `mutation ($input: flow_run_id_input!) { update_flow_run_heartbeat(input: $input) { success } }`,
      { input: { flow_run_id: flowRunId } },
    );
  }

  async cancel(flowRunId: string): Promise<StateType> {
    const data = await this.client.graphql<{ cancel_flow_run: { state: StateType } }>(
      `mutation ($input: flow_run_id_input!) { cancel_flow_run(input: $input) { state } }`,
      { input: { flow_run_id: flowRunId } },
    );
    return data.cancel_flow_run.state;
  }
}

/**
 * Children 0…count-1 fetched in pages of MAPPED_CHILDREN_PAGE (at most
 * PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL, the most the backend creates in one call): each page
 * is one short transaction, and between pages the client pauses a moment so that other writers
 * of the database — `serve`, when this process writes the file itself — take the write lock in
 * between. Creating is idempotent: a page that fails can be asked again.
 */
export async function mappedChildrenInPages(count: number, page: (start: number, count: number) => Promise<TaskRunRow[]>): Promise<TaskRunRow[]> {
  const size = Math.min(MAPPED_CHILDREN_PAGE, settings.maxMappedChildrenPerCall());
  if (count <= size) return page(0, count);
  const all: TaskRunRow[] = [];
  for (let start = 0; start < count; start += size) {
    if (start > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_PAGES_MS));
    for (const row of await page(start, Math.min(size, count - start))) all.push(row);
  }
  return all;
}

/** Children per page: ~12 ms of inserts (a page of 10,000 held the write lock ~170 ms). */
export const MAPPED_CHILDREN_PAGE = 1000;
/** Long enough for a writer waiting on the lock (serve polls it every few ms) to take it. */
const PAUSE_BETWEEN_PAGES_MS = 2;
/** A run's states and logs in one document (a document is one transaction on the server). */
const BATCH = `mutation ($states: set_task_run_states_input!, $logs: write_run_logs_input!) {
  taskRuns: set_task_run_states(input: $states) { states { version } }
  logs: write_run_logs(input: $logs) { written }
}`;

const BATCH_WITH_FLOW_RUN_STATE = `mutation ($states: set_task_run_states_input!, $logs: write_run_logs_input!, $flow: set_flow_run_states_input!) {
  taskRuns: set_task_run_states(input: $states) { states { version } }
  logs: write_run_logs(input: $logs) { written }
  flowRun: set_flow_run_states(input: $flow) { states { version } }
}`;

/** set_task_run_states' input for these writes. */
function taskRunStatesInput(items: readonly TaskRunStateWrite[]) {
  return { states: items.map((i) => ({ task_run_id: i.taskRunId, version: i.version, state: i.state, write_id: i.writeId })) };
}
