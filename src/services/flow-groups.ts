import { notFoundError, validationError } from "../core/errors.ts";
import { checkParameterTypes } from "../core/parameters.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { FlowGroupSetting } from "./types.ts";
import { isPlainObject, normalizeLabels, requireJsonDepth, requireUuid } from "./validate.ts";

const SETTINGS: readonly FlowGroupSetting[] = ["heartbeat_enabled", "lazarus_enabled", "version_locking_enabled"];

/** Per-flow-group settings shared by every version: switches, default parameters, labels. */
export function createFlowGroupService(deps: ServiceDeps) {
  function group(flowGroupId: string) {
    const id = requireUuid(flowGroupId, "flow_group_id");
    const g = deps.store.flows.getGroup(id);
    if (!g) throw notFoundError(`Flow group ${id} not found`);
    return g;
  }

  function setFlowGroupSetting(flowId: string, setting: FlowGroupSetting, enabled: boolean): void {
    if (!SETTINGS.includes(setting)) throw validationError(`unknown flow group setting '${setting}'`);
    const id = requireUuid(flowId, "flow_id");
    deps.store.transaction(() => {
      const flow = deps.store.flows.get(id);
      if (!flow) throw notFoundError(`Flow ${id} not found`);
      const g = deps.store.flows.getGroup(flow.flowGroupId)!;
      deps.store.flows.updateGroup(g.id, { settings: { ...g.settings, [setting]: enabled === true } }, isoNow(deps));
    });
  }

  /** Replace the group's default parameters; every name must be a parameter of its newest version, every value of its type. */
  function setFlowGroupDefaultParameters(flowGroupId: string, parameters: unknown): void {
    if (!isPlainObject(parameters)) throw validationError("parameters must be a JSON object");
    requireJsonDepth(parameters, "parameters");
    deps.store.transaction(() => {
      const g = group(flowGroupId);
      const flow = deps.store.flows.newestUnarchived({ flowGroupId: g.id }) ?? deps.store.flows.newest(g.id);
      const known = new Set((flow?.parameters ?? []).map((p) => p.name));
      const unknown = Object.keys(parameters).filter((k) => !known.has(k));
      if (unknown.length) {
        throw validationError(
          `flow '${flow?.name ?? g.name}' has no parameter ${unknown.map((k) => `'${k}'`).join(", ")} (its parameters: ${[...known].join(", ") || "none"})`,
        );
      }
      checkParameterTypes(flow?.parameters ?? [], parameters);
      deps.store.flows.updateGroup(g.id, { defaultParameters: parameters }, isoNow(deps));
    });
  }

  /** null clears the group's labels (runs fall back to run configs); [] means "no labels". */
  function setFlowGroupLabels(flowGroupId: string, labels: string[] | null): void {
    const value = labels === null || labels === undefined ? null : normalizeLabels(labels);
    deps.store.transaction(() => {
      const g = group(flowGroupId);
      deps.store.flows.updateGroup(g.id, { labels: value }, isoNow(deps));
    });
  }

  return { setFlowGroupSetting, setFlowGroupDefaultParameters, setFlowGroupLabels };
}
