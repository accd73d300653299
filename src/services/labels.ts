import type { FlowGroupRecord, FlowRecord, RunConfigRecord } from "../storage/store.ts";
import { isPlainObject } from "./validate.ts";

/**
 * The labels of a new flow run (Prefect Server's order, first non-null source wins):
 * the explicit labels (even []) > the run config passed with the run > the flow group's
 * labels (non-null; [] counts) > the flow group's run config > the flow's run config > [].
 */
export function resolveRunLabels(
  explicit: string[] | null,
  passedRunConfig: RunConfigRecord | null,
  group: FlowGroupRecord,
  flow: FlowRecord,
): string[] {
  const candidates: Array<unknown> = [
    explicit,
    passedRunConfig?.labels,
    group.labels,
    group.runConfig?.labels,
    flow.runConfig?.labels,
  ];
  const found = candidates.find((c) => Array.isArray(c)) as string[] | undefined;
  return [...new Set(found ?? [])].sort();
}

/** The run config of a new run: the one passed > the flow group's > the flow's. */
export function resolveRunConfig(
  passed: RunConfigRecord | null,
  group: FlowGroupRecord,
  flow: FlowRecord,
): RunConfigRecord | null {
  const found = [passed, group.runConfig, flow.runConfig].find((c) => isPlainObject(c));
  return (found as RunConfigRecord | undefined) ?? null;
}
