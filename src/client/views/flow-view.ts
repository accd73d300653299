import { FLOW_VIEW_BY_ID, FLOW_VIEW_OF_GROUP, FLOW_VIEWS_WHERE } from "../documents.ts";
import { refuseSnakeCase } from "../snake-case.ts";
import { PrefectliteError } from "../../core/errors.ts";
import type { Storage } from "../../core/flow.ts";
import type { ParameterType } from "../../core/parameter-types.ts";
import { runConfigFromRow, type RunConfig } from "../../core/run-config.ts";
import type { SerializedFlow } from "../../core/serialize.ts";
import { deepFreeze, requireId, resolveViewDeps, type ViewDeps, type ViewOptions } from "./deps.ts";

/** A flow parameter as registered. */
export interface FlowParameterInfo {
  name: string;
  slug: string;
  default?: unknown;
  required: boolean;
  /** The JSON type its values must have; absent for untyped ("any") parameters and flows registered before types. */
  type?: ParameterType;
}

interface FlowRow {
  id: string;
  name: string;
  version: number;
  version_group_id: string;
  flow_group_id: string;
  archived: boolean;
  core_version: string | null;
  run_config: unknown;
  storage: Storage | null;
  parameters: FlowParameterInfo[] | null;
  schedule: unknown;
  serialized_flow: SerializedFlow | null;
  description: string | null;
  created: string;
  project: { name: string };
  flow_group: { labels: string[] | null; settings: Record<string, unknown> | null } | null;
}

/**
 * A registered flow version, as the backend knows it (Prefect's `FlowView`): an immutable
 * snapshot. Look one up with `fromFlowName`, `fromFlowId` or `fromFlowGroupId`.
 */
export class FlowView {
  readonly flowId: string;
  readonly flowGroupId: string;
  readonly versionGroupId: string;
  readonly name: string;
  readonly projectName: string;
  readonly version: number;
  readonly archived: boolean;
  readonly coreVersion: string | null;
  readonly runConfig: RunConfig | null;
  readonly storage: Storage | null;
  readonly parameters: readonly FlowParameterInfo[];
  readonly schedule: unknown;
  readonly description: string | null;
  readonly created: string;
  /** The flow group's settings (heartbeat, Lazarus, version locking). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Labels set on the flow group (they override the run config's); null when none were set. */
  readonly flowGroupLabels: readonly string[] | null;
  /** The flow as it was registered (graph, parameters, schedule, run config, storage). */
  readonly serializedFlow: SerializedFlow | null;

  readonly #deps: ViewDeps;

  private constructor(row: FlowRow, deps: ViewDeps) {
    this.#deps = deps;
    this.flowId = row.id;
    this.flowGroupId = row.flow_group_id;
    this.versionGroupId = row.version_group_id;
    this.name = row.name;
    this.projectName = row.project.name;
    this.version = row.version;
    this.archived = row.archived;
    this.coreVersion = row.core_version;
    this.runConfig = runConfigFromRow(row.run_config);
    this.storage = deepFreeze(row.storage);
    this.parameters = deepFreeze(row.parameters ?? []);
    this.schedule = deepFreeze(row.schedule);
    this.description = row.description;
    this.created = row.created;
    this.settings = deepFreeze(row.flow_group?.settings ?? {});
    this.flowGroupLabels = deepFreeze(row.flow_group?.labels ?? null);
    this.serializedFlow = deepFreeze(row.serialized_flow);
    Object.freeze(this);
  }

  /** The flow version with this id. */
  static async fromFlowId(flowId: string, options: ViewOptions = {}): Promise<FlowView> {
    const id = requireId(flowId, "Flow");
    const deps = resolveViewDeps(options);
    const data = await deps.client.graphql<{ flow_by_pk: FlowRow | null }>(FLOW_VIEW_BY_ID, { id });
    if (!data.flow_by_pk) throw new PrefectliteError("NotFound", `Flow ${id} not found`);
    return new FlowView(data.flow_by_pk, deps);
  }

  /** The newest version of a flow group (the unarchived one when there is one). */
  static async fromFlowGroupId(flowGroupId: string, options: ViewOptions = {}): Promise<FlowView> {
    const id = requireId(flowGroupId, "Flow group");
    const deps = resolveViewDeps(options);
    const data = await deps.client.graphql<{ flow: FlowRow[] }>(FLOW_VIEW_OF_GROUP, { id });
    const row = data.flow[0];
    if (!row) throw new PrefectliteError("NotFound", `Flow group ${id} not found (no flow has it)`);
    return new FlowView(row, deps);
  }

  /**
   * The live (unarchived) version of the flow with this name. A name registered in several
   * projects needs `projectName`.
   */
  static async fromFlowName(name: string, options: ViewOptions & { projectName?: string } = {}): Promise<FlowView> {
    if (typeof name !== "string" || !name) throw new PrefectliteError("Validation", "FlowView.fromFlowName needs a flow name");
    refuseSnakeCase(options, "FlowView.fromFlowName");
    const deps = resolveViewDeps(options);
    const where: Record<string, unknown> = { name: { _eq: name }, archived: { _eq: false } };
    if (options.projectName) where.project = { name: { _eq: options.projectName } };
    const data = await deps.client.graphql<{ flow: FlowRow[] }>(FLOW_VIEWS_WHERE, { where });
    const inProject = options.projectName ? ` in project '${options.projectName}'` : "";
    if (data.flow.length === 0) throw new PrefectliteError("NotFound", `No flow named '${name}'${inProject}: register it first`);
    const projects = [...new Set(data.flow.map((f) => f.project.name))].sort();
    if (projects.length > 1) {
      throw new PrefectliteError(
        "Validation",
        `Flow '${name}' exists in several projects (${projects.join(", ")}): pass projectName to say which`,
      );
    }
    return new FlowView(data.flow[0]!, deps);
  }

  /** The same lookup again (a newer snapshot of this flow version). */
  getLatest(): Promise<FlowView> {
    return FlowView.fromFlowId(this.flowId, this.#deps);
  }

  toString(): string {
    return `FlowView(${this.name} v${this.version}, project '${this.projectName}', ${this.flowId})`;
  }
}

