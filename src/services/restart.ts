import { PrefectliteError, notFoundError, validationError } from "../core/errors.ts";
import { isFinalType, isSuccessfulType, type StateType } from "../core/state.ts";
import type { EdgeRecord, TaskRunRecord } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { serverState, stateWrite } from "./state-input.ts";
import { writeFlowRunState } from "./states.ts";
import type { RestartFlowRunInput, RestartFlowRunResult } from "./types.ts";
import { requireUuid } from "./validate.ts";

/** The label `run --execute` gives a run so that no agent takes it. */
export const AGENTLESS_LABEL_PREFIX = "agentless-run-";

const MAX_RESTARTED_BY_LENGTH = 200;

/**
 * Which task runs of a flow run go again: every one that did not succeed, and everything that
 * depends on one of those. A mapped child that goes again takes its parent with it, and the
 * children of a downstream task that maps over it at the same index; any other dependency
 * takes the whole downstream task (parent and children). Returns the ids of the task runs.
 */
export function taskRunsToRestart(taskRuns: readonly TaskRunRecord[], edges: readonly EdgeRecord[]): Set<string> {
  /** Per task: "all" of its task runs go again, or the parent and the children at these indexes. */
  const dirty = new Map<string, "all" | Set<number>>();
  const mark = (taskId: string, indexes: "all" | ReadonlySet<number>): boolean => {
    const current = dirty.get(taskId);
    if (current === "all") return false;
    if (indexes === "all") return dirty.set(taskId, "all"), true;
    const next = current ?? new Set<number>();
    const before = current ? next.size : -1;
    for (const i of indexes) next.add(i);
    dirty.set(taskId, next);
    return next.size !== before;
  };
  for (const run of taskRuns) {
    if (isSuccessfulType(run.state)) continue;
    mark(run.taskId, run.mapIndex < 0 ? "all" : new Set([run.mapIndex]));
  }
  // Marks only grow (a few indexes → more → "all"), so this reaches its fixpoint.
  for (let changed = true; changed; ) {
    changed = false;
    for (const edge of edges) {
      const upstream = dirty.get(edge.upstreamTaskId);
      if (!upstream) continue;
      changed = mark(edge.downstreamTaskId, edge.mapped && upstream !== "all" ? upstream : "all") || changed;
    }
  }
  const ids = new Set<string>();
  for (const run of taskRuns) {
    const marked = dirty.get(run.taskId);
    if (marked && (marked === "all" || run.mapIndex < 0 || marked.has(run.mapIndex))) ids.add(run.id);
  }
  return ids;
}

/** Whether a flow run in this state may be restarted: it finished without succeeding. */
export function isRestartable(state: StateType): boolean {
  return isFinalType(state) && !isSuccessfulType(state);
}

/**
 * Restart a Failed or Cancelled flow run from its failures, in one transaction: the task runs of
 * {@link taskRunsToRestart} go back to Pending (their start and end times forgotten), the others
 * keep their states and results, and the run goes to Scheduled (due now) with a message saying
 * who restarted it. The run loses its agent and any `agentless-run-…` label (the process that
 * executed it is gone), gets a fresh one when `agentless`, and Lazarus's count starts again.
 */
export function createRestartService(deps: ServiceDeps) {
  async function restartFlowRun(input: RestartFlowRunInput): Promise<RestartFlowRunResult> {
    const id = requireUuid(input?.flowRunId, "flow_run_id");
    const by = restartedBy(input.restartedBy);
    const now = isoNow(deps);
    return await deps.store.transaction(async () => {
      await deps.store.lock.flowRun(id, "update");
      const run = await deps.store.flowRuns.get(id);
      if (!run) throw notFoundError(`Flow run ${id} not found`);
      if (!isRestartable(run.state)) throw refusal(id, run.state);
      const taskRuns = await deps.store.taskRuns.ofFlowRun(id);
      const again = taskRunsToRestart(taskRuns, await deps.store.flows.edges(run.flowId));
      for (const taskRun of taskRuns) {
        if (!again.has(taskRun.id) || taskRun.state === "Pending") continue;
        const message = `Flow run restarted: this task run goes again (it was ${taskRun.state})`;
        await deps.store.taskRuns.writeState(taskRun.id, taskRun.version, stateWrite(serverState("Pending", message, now)));
      }
      await deps.store.taskRuns.clearTimes([...again]);
      const labels = run.labels.filter((l) => !l.startsWith(AGENTLESS_LABEL_PREFIX));
      if (input.agentless) labels.push(`${AGENTLESS_LABEL_PREFIX}${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`);
      await deps.store.flowRuns.prepareRestart(id, labels);
      const kept = taskRuns.length - again.size;
      const keeps = kept === 1 ? "1 keeps its state" : `${kept} keep their states`;
      const goes = again.size === 1 ? "1 task run goes again" : `${again.size} task runs go again`;
      const message = `Flow run restarted${by ? ` by ${by}` : ""}: ${goes}, ${keeps}`;
      const version = await writeFlowRunState(deps, run, run.version, serverState("Scheduled", message, now, now), { rerun: true });
      await deps.store.events.runsChanged({ at: now, labels });
      return { id, state: "Scheduled", version, message, labels, restartedTaskRuns: again.size, keptTaskRuns: kept };
    });
  }

  return { restartFlowRun };
}

function restartedBy(value: unknown): string | null {
  if (value == null || value === "") return null;
  if (typeof value !== "string" || value.length > MAX_RESTARTED_BY_LENGTH || /[\r\n]/.test(value)) {
    throw validationError(`restarted_by must be one line of at most ${MAX_RESTARTED_BY_LENGTH} characters`);
  }
  return value;
}

function refusal(id: string, state: StateType): PrefectliteError {
  const why = isFinalType(state)
    ? `it ended ${state}: only a run that failed or was cancelled can be restarted`
    : `it is ${state}, not finished: only a run that failed or was cancelled can be restarted (cancel it first to stop it)`;
  return new PrefectliteError("Conflict", `Flow run ${id} was not restarted: ${why}`);
}
