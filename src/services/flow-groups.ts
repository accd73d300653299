import { notFoundError, validationError } from "../core/errors.ts";
import { checkParameterTypes } from "../core/parameters.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { FlowGroupSetting } from "./types.ts";
import type { RunConfigRecord } from "../storage/records.ts";
import { checkRunConfig, checkRunConfigType, typedRunConfig } from "./run-config.ts";
import { isPlainObject, normalizeLabels, optionalObject, optionalString, requireJsonDepth, requireUuid } from "./validate.ts";

const SETTINGS: readonly FlowGroupSetting[] = ["heartbeat_enabled", "lazarus_enabled", "version_locking_enabled"];

/** Per-flow-group settings shared by every version: switches, default parameters, labels. */
export function createFlowGroupService(deps: ServiceDeps) {
  async function group(flowGroupId: string) {
    const id = requireUuid(flowGroupId, "flow_group_id");
    await deps.store.lock.flowGroup(id);
    const g = await deps.store.flows.getGroup(id);
    if (!g) throw notFoundError(`Flow group ${id} not found`);
    return g;
  }

  async function setFlowGroupSetting(flowId: string, setting: FlowGroupSetting, enabled: boolean): Promise<void> {
    if (!SETTINGS.includes(setting)) throw validationError(`unknown flow group setting '${setting}'`);
    const id = requireUuid(flowId, "flow_id");
    await deps.store.transaction(async () => {
      const flow = await deps.store.flows.get(id);
      if (!flow) throw notFoundError(`Flow ${id} not found`);
      await deps.store.lock.flowGroup(flow.flowGroupId);
      const g = (await deps.store.flows.getGroup(flow.flowGroupId))!;
      await deps.store.flows.updateGroup(g.id, { settings: { ...g.settings, [setting]: enabled === true } }, isoNow(deps));
    });
  }

  /** Replace the group's default parameters; every name must be a parameter of its newest version, every value of its type. */
  async function setFlowGroupDefaultParameters(flowGroupId: string, parameters: unknown): Promise<void> {
    if (!isPlainObject(parameters)) throw validationError("parameters must be a JSON object");
    requireJsonDepth(parameters, "parameters");
    await deps.store.transaction(async () => {
      const g = await group(flowGroupId);
      const flow = await deps.store.flows.newestUnarchived({ flowGroupId: g.id }) ?? await deps.store.flows.newest(g.id);
      const known = new Set((flow?.parameters ?? []).map((p) => p.name));
      const unknown = Object.keys(parameters).filter((k) => !known.has(k));
      if (unknown.length) {
        throw validationError(
          `flow '${flow?.name ?? g.name}' has no parameter ${unknown.map((k) => `'${k}'`).join(", ")} (its parameters: ${[...known].join(", ") || "none"})`,
        );
      }
      checkParameterTypes(flow?.parameters ?? [], parameters);
      await deps.store.flows.updateGroup(g.id, { defaultParameters: parameters }, isoNow(deps));
    });
  }

  /** null clears the group's labels (runs fall back to run configs); [] means "no labels". */
  async function setFlowGroupLabels(flowGroupId: string, labels: string[] | null): Promise<void> {
    const value = labels === null || labels === undefined ? null : normalizeLabels(labels);
    await deps.store.transaction(async () => {
      const g = await group(flowGroupId);
      await deps.store.flows.updateGroup(g.id, { labels: value }, isoNow(deps));
    });
  }

  /** A markdown description of the group shown with its flows; null clears it. */
  async function setFlowGroupDescription(flowGroupId: string, description: string | null): Promise<void> {
    const value = optionalString(description, "description");
    await deps.store.transaction(async () => {
      const g = await group(flowGroupId);
      await deps.store.flows.updateGroup(g.id, { description: value }, isoNow(deps));
    });
  }

  /** The run config new runs of the group get unless their creator passes one (it wins over the flow's); null clears it. */
  async function setFlowGroupRunConfig(flowGroupId: string, runConfig: unknown): Promise<void> {
    const value = optionalObject(runConfig, "run_config") as RunConfigRecord | null;
    if (value !== null) {
      requireJsonDepth(value, "run_config");
      checkRunConfig(value, "run_config");
      checkRunConfigType(value, "run_config");
    }
    await deps.store.transaction(async () => {
      const g = await group(flowGroupId);
      await deps.store.flows.updateGroup(g.id, { runConfig: typedRunConfig(value) }, isoNow(deps));
    });
  }

  return { setFlowGroupSetting, setFlowGroupDefaultParameters, setFlowGroupLabels, setFlowGroupDescription, setFlowGroupRunConfig };
}
