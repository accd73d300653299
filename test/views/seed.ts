/**
 * Test set-up for the views: a backend on a temporary database, and finished runs written the
 * way a backed run writes them (versioned state mutations, result files through the result
 * store, mapped children through get_or_create_mapped_task_runs).
 */
import { join } from "node:path";
import { BackendClient } from "../../src/client/client.ts";
import { registerFlow } from "../../src/client/register.ts";
import type { Flow } from "../../src/core/flow.ts";
import { LocalResult } from "../../src/core/results.ts";
import type { ResultLocation, SerializedState, StateType } from "../../src/core/state.ts";
import type { ResultReadOptions } from "../../src/engine/ports.ts";
import { LocalResultStore } from "../../src/engine/result-store.ts";
import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { embeddedBackend, openEmbeddedBackend } from "../../src/runtime/embedded-backend.ts";
import { tempDir } from "../helpers.ts";
import { sqlOn, type SqlRunner } from "../storage-helpers.ts";

/** A result store that counts its reads (to see what a cache saves). */
export class CountingStore extends LocalResultStore {
  reads = 0;
  override read(location: ResultLocation, options?: ResultReadOptions): Promise<unknown> {
    this.reads++;
    return super.read(location, options);
  }
}

interface Row {
  id: string;
  version: number;
}

export class Seeder {
  readonly results: CountingStore;
  readonly resultsDir: string;
  /** One SQL statement on the database, on a connection of its own (old rows a test writes directly). */
  readonly sql: SqlRunner;
  private readonly raw: { sql: SqlRunner; close(): void };

  private constructor(
    readonly backend: Backend,
    readonly client: BackendClient,
    home: string,
    url: string,
  ) {
    this.resultsDir = join(home, "results");
    this.results = new CountingStore(this.resultsDir);
    this.raw = sqlOn(url);
    this.sql = this.raw.sql;
  }

  /** A backend in `home` (default a fresh folder), laid out as PREFECTLITE_HOME is: the database, results/. */
  static async open(home = tempDir()): Promise<Seeder> {
    const url = `sqlite:${join(home, "prefectlite.db")}`;
    const backend = await openBackend(url);
    const seeder = new Seeder(backend, new BackendClient(embeddedBackend(backend)), home, url);
    await seeder.client.createProject("test");
    return seeder;
  }

  /** What views take: this backend and a counting reader of its result folder. */
  get deps() {
    return { client: this.client, results: this.results };
  }

  async close(): Promise<void> {
    this.raw.close();
    await this.backend.close();
  }

  async register(flow: Flow, project = "test"): Promise<string> {
    await this.client.createProject(project);
    return (await registerFlow(this.client, flow, project)).id;
  }

  /** Create a run of the flow and set it Running. */
  async startRun(flowId: string, input: { parameters?: Record<string, unknown>; labels?: string[]; runName?: string } = {}): Promise<string> {
    const id = await this.client.createFlowRun({ flowId, ...input });
    await this.setFlowRunState(id, { type: "Running", message: "Running flow." });
    return id;
  }

  async setFlowRunState(id: string, state: SerializedState): Promise<void> {
    const data = await this.client.graphql<{ flow_run_by_pk: Row }>(`query ($id: uuid!) { flow_run_by_pk(id: $id) { id version } }`, { id });
    await this.client.setFlowRunState(id, data.flow_run_by_pk.version, state);
  }

  async finishRun(id: string, type: StateType = "Success", message = "All reference tasks succeeded."): Promise<void> {
    await this.setFlowRunState(id, { type, message });
  }

  private async taskRun(flowRunId: string, slug: string, mapIndex = -1): Promise<Row> {
    const data = await this.client.graphql<{ task_run: Row[] }>(
      `query ($id: uuid!, $slug: String!, $i: Int!) { task_run(where: { flow_run_id: { _eq: $id }, task_slug: { _eq: $slug }, map_index: { _eq: $i } }) { id version } }`,
      { id: flowRunId, slug, i: mapIndex },
    );
    if (!data.task_run[0]) throw new Error(`seed: no task run ${slug}[${mapIndex}]`);
    return data.task_run[0];
  }

  async setTaskRunStates(writes: Array<{ row: Row; state: SerializedState }>): Promise<void> {
    await this.client.graphql(
      `mutation ($input: set_task_run_states_input!) { set_task_run_states(input: $input) { states { version } } }`,
      { input: { states: writes.map((w) => ({ task_run_id: w.row.id, version: w.row.version, state: w.state })) } },
    );
  }

  /** Write `value` as the task's result file and move the task run Running → Success with its location. */
  async succeed(flowRunId: string, slug: string, value: unknown, mapIndex = -1): Promise<ResultLocation> {
    const row = await this.taskRun(flowRunId, slug, mapIndex);
    const location = await this.writeResult(flowRunId, slug, row.id, mapIndex, value);
    await this.setTaskRunStates([{ row, state: { type: "Running", message: "Starting task run." } }]);
    await this.setTaskRunStates([{ row: { id: row.id, version: row.version + 1 }, state: { type: "Success", message: "Task run succeeded.", result: location } }]);
    return location;
  }

  /** Move a task run to `type` with no result (Failed, Running, …). */
  async setTaskState(flowRunId: string, slug: string, type: StateType, message = "", mapIndex = -1): Promise<void> {
    const row = await this.taskRun(flowRunId, slug, mapIndex);
    await this.setTaskRunStates([{ row, state: { type, message } }]);
  }

  /** A mapped task run: children 0…n-1 each succeed with their value; the parent ends Mapped. */
  async mapped(flowRunId: string, slug: string, values: readonly unknown[]): Promise<void> {
    const parent = await this.taskRun(flowRunId, slug);
    await this.setTaskRunStates([{ row: parent, state: { type: "Running", message: "Starting task run." } }]);
    const data = await this.client.graphql<{ get_or_create_mapped_task_runs: { task_runs: Array<Row & { map_index: number }> } }>(
      `mutation ($input: get_or_create_mapped_task_runs_input!) { get_or_create_mapped_task_runs(input: $input) { task_runs { id version map_index } } }`,
      { input: { flow_run_id: flowRunId, task_slug: slug, count: values.length } },
    );
    const children = data.get_or_create_mapped_task_runs.task_runs;
    const writes = await Promise.all(
      children.map(async (c) => ({
        row: c,
        state: {
          type: "Success" as const,
          message: "Task run succeeded.",
          result: await this.writeResult(flowRunId, slug, c.id, c.map_index, values[c.map_index]),
        },
      })),
    );
    for (let i = 0; i < writes.length; i += 1000) await this.setTaskRunStates(writes.slice(i, i + 1000));
    await this.setTaskRunStates([
      { row: { id: parent.id, version: parent.version + 1 }, state: { type: "Mapped", message: "Mapped tasks submitted for execution.", nMapStates: values.length } },
    ]);
  }

  private writeResult(flowRunId: string, slug: string, taskRunId: string, mapIndex: number, value: unknown): Promise<ResultLocation> {
    return this.results.write(value, new LocalResult(), {
      flowName: "seed",
      flowRunId,
      flowRunName: "seed",
      taskName: slug,
      taskSlug: slug,
      taskRunId,
      mapIndex,
      parameters: {},
    });
  }
}
