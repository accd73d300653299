import { PrefectliteError, notFoundError, validationError } from "../core/errors.ts";
import { canTransition, isFinalType, isRunningType, type StateType } from "../core/state.ts";
import type { FlowRunRecord, StateWrite, TaskRunWriteView } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { createResultLocationCheck } from "./result-location.ts";
import { parseStateInput, serverState, stateWrite, type StampedState } from "./state-input.ts";
import type { FlowRunStateInput, SetStatesOptions, StateWriteResult, TaskRunStateInput } from "./types.ts";
import { optionalVersion, requireUuid } from "./validate.ts";
import { mapInOrder } from "./in-order.ts";

/**
 * State changes of flow runs and task runs. Every write carries the version its writer read
 * (optimistic locking); transitions follow core's `canTransition`; a batch is one transaction.
 */
export function createStateService(deps: ServiceDeps) {
  const checkResultLocation = createResultLocationCheck(deps.store);

  async function setFlowRunStates(items: FlowRunStateInput[], options: SetStatesOptions = {}): Promise<StateWriteResult[]> {
    if (!Array.isArray(items)) throw validationError("states must be a list");
    const agentId = options.agentId ? requireUuid(options.agentId, "agent id") : null;
    const now = isoNow(deps);
    return await deps.store.transaction(async () =>
      mapInOrder(items, async (item, i) => {
        const id = requireUuid(item?.flowRunId, `states[${i}].flow_run_id`);
        const version = optionalVersion(item.version, `states[${i}].version`);
        const state = parseStateInput(item.state, now, `states[${i}].state`);
        const writeId = optionalWriteId(item.writeId, `states[${i}].write_id`);
        const stored = writeId === undefined ? undefined : storedWrite("flow run", id, await deps.store.flowRuns.writtenState(writeId), writeId);
        if (stored !== undefined) return { id, status: "SUCCESS" as const, message: state.message ?? null, version: stored };
        await deps.store.lock.flowRun(id, "update");
        const run = await deps.store.flowRuns.get(id);
        if (!run) throw notFoundError(`State update failed for flow run ID ${id}: no such flow run`);
        if (state.result) await checkResultLocation(state.result, run.flowId, undefined, `states[${i}].state`);
        const locked = version === undefined && (await flowGroupSettingsOf(deps, run.flowId)).version_locking_enabled === true;
        const expected = version ?? unversioned("flow run", id, run.version, locked);
        const newVersion = await writeFlowRunState(deps, run, expected, state, { agentId, rerun: item.rerun === true, writeId });
        // A re-run or a reschedule: the run may be due.
        if (state.type === "Scheduled") await deps.store.events.runsChanged({ at: state.startTime ?? now, labels: run.labels });
        return { id, status: "SUCCESS" as const, message: state.message ?? null, version: newVersion };
      }),
    );
  }

  async function setTaskRunStates(items: TaskRunStateInput[]): Promise<StateWriteResult[]> {
    if (!Array.isArray(items)) throw validationError("states must be a list");
    const now = isoNow(deps);
    const versionLocked = new Map<string, boolean>();
    // A batch usually belongs to one flow run: read it once. Task-run writes never change it.
    const flowRuns = new Map<string, FlowRunRecord>();
    // Each task run's states in this batch, checked one after another against where the previous
    // one leaves it, then written with one UPDATE (Running → Success in a batch is common).
    const series = new Map<string, { view: TaskRunWriteView; from: number; writes: StateWrite[] }>();
    const writeIds = new Set<string>();
    return await deps.store.transaction(async () => {
      const results = await mapInOrder(items, async (item, i) => {
        const id = requireUuid(item?.taskRunId, `states[${i}].task_run_id`);
        const version = optionalVersion(item.version, `states[${i}].version`);
        const state = parseStateInput(item.state, now, `states[${i}].state`);
        const writeId = optionalWriteId(item.writeId, `states[${i}].write_id`);
        if (writeId !== undefined) {
          // A retry of a write that was made (its answer was lost): what it made, not a conflict.
          const stored = storedWrite("task run", id, await deps.store.taskRuns.writtenState(writeId), writeId);
          if (stored !== undefined) return { id, status: "SUCCESS" as const, message: state.message ?? null, version: stored };
          if (writeIds.has(writeId)) throw validationError(`states[${i}].write_id ${writeId} is used twice in this batch: make a new id for each write`);
          writeIds.add(writeId);
        }
        let run = series.get(id);
        if (!run) {
          const stored = await deps.store.taskRuns.getForWrite(id);
          if (!stored) throw notFoundError(`State update failed for task run ID ${id}: no such task run`);
          run = { view: { ...stored }, from: stored.version, writes: [] };
          series.set(id, run);
        }
        const taskRun = run.view;
        let flowRun = flowRuns.get(taskRun.flowRunId);
        if (!flowRun) {
          await deps.store.lock.flowRun(taskRun.flowRunId, "share");
          flowRun = (await deps.store.flowRuns.get(taskRun.flowRunId))!;
          flowRuns.set(flowRun.id, flowRun);
        }
        let locked = versionLocked.get(flowRun.flowId);
        if (locked === undefined) {
          locked = (await flowGroupSettingsOf(deps, flowRun.flowId)).version_locking_enabled === true;
          versionLocked.set(flowRun.flowId, locked);
        }
        checkTaskRunRules(taskRun, flowRun, state.type, locked);
        if (state.result) await checkResultLocation(state.result, flowRun.flowId, taskRun.taskSlug, `states[${i}].state`);
        checkVersion("task run", id, taskRun.version, version ?? unversioned("task run", id, taskRun.version, locked));
        if (!canTransition(taskRun.state, state.type, { rerun: item.rerun === true })) refuseTransition("task run", id, taskRun.state, state.type);
        run.writes.push(stateWrite(state, { heartbeat: state.type === "Running" ? now : null, writeId }));
        taskRun.version += 1;
        taskRun.state = state.type;
        return { id, status: "SUCCESS" as const, message: state.message ?? null, version: taskRun.version };
      });
      for (const [id, run] of series) await deps.store.taskRuns.writeStates(id, run.from, run.writes);
      return results;
    });
  }

  async function cancelFlowRun(flowRunId: string): Promise<{ state: StateType }> {
    const id = requireUuid(flowRunId, "flow_run_id");
    const now = isoNow(deps);
    return await deps.store.transaction(async () => {
      await deps.store.lock.flowRun(id, "update");
      const run = await deps.store.flowRuns.get(id);
      if (!run) throw notFoundError(`Flow run ${id} not found`);
      if (isFinalType(run.state) || run.state === "Cancelling") return { state: run.state };
      if (run.state === "Running") {
        await writeFlowRunState(deps, run, run.version, serverState("Cancelling", "Flow run is cancelling", now));
        return { state: "Cancelling" as const };
      }
      await writeFlowRunState(deps, run, run.version, serverState("Cancelled", "Flow run is cancelled", now));
      return { state: "Cancelled" as const };
    });
  }

  return { setFlowRunStates, setTaskRunStates, cancelFlowRun };
}

export async function flowGroupSettingsOf(deps: ServiceDeps, flowId: string) {
  const flow = await deps.store.flows.get(flowId);
  return (flow && (await deps.store.flows.getGroup(flow.flowGroupId))?.settings) || ({} as Record<string, unknown>);
}

function optionalWriteId(value: unknown, field: string): string | undefined {
  return value === undefined || value === null ? undefined : requireUuid(value, field);
}

/**
 * The version an unversioned write is made over: the stored one, while the flow's version lock is
 * off (Prefect Cloud's rule for Prefect's engine, which sends no version for most states); under
 * version locking a write must say which version it read.
 */
function unversioned(kind: string, id: string, stored: number, versionLocked: boolean): number {
  if (versionLocked) {
    throw new PrefectliteError(
      "VersionConflict",
      `State update refused for ${kind} ${id}: it carries no version, and version locking is enabled for this flow (send the version you read)`,
    );
  }
  return stored;
}

/** The version a stored write made, when `writeId` is stored; refused when another run's write has that id. */
function storedWrite(kind: string, runId: string, stored: { runId: string; version: number } | undefined, writeId: string): number | undefined {
  if (!stored) return undefined;
  if (stored.runId !== runId) throw validationError(`write id ${writeId} was already used for another ${kind}: make a new id for each write`);
  return stored.version;
}

function refuseTransition(kind: string, id: string, from: StateType, to: StateType): never {
  const again = from === "Success" ? "Success or Cached" : from;
  const why = isFinalType(from)
    ? `${from} is a finished state (only an explicit re-run may leave it, for Scheduled or Pending; it may be written again as ${again})`
    : `a ${from} run may only end`;
  throw new PrefectliteError("Conflict", `State update refused for ${kind} ${id}: ${from} → ${to} is not allowed: ${why}`);
}

function checkVersion(kind: string, id: string, stored: number, given: number): void {
  if (stored !== given) {
    throw new PrefectliteError(
      "VersionConflict",
      `State update refused for ${kind} ${id}: you read version ${given} but it is at version ${stored} (someone else changed it; read it again)`,
    );
  }
}

/**
 * A task run enters Running only while its flow run is Running — or, without version locking,
 * while it is Cancelling: such a runner records Running behind the task's start (write-behind),
 * so a refusal would stop nothing and only lose the record of a task that started before its
 * runner learned of the cancel (its final state would then have no start). Under version locking
 * Running is the claim that lets a task start, and a Cancelling run's claims are refused: none
 * starts after the cancel.
 */
function checkTaskRunRules(taskRun: TaskRunWriteView, flowRun: FlowRunRecord, to: StateType, versionLocked: boolean): void {
  const recordOfStart = to === "Running" && flowRun.state === "Cancelling" && !versionLocked;
  if (isRunningType(to) && flowRun.state !== "Running" && !recordOfStart) {
    const why = flowRun.state === "Cancelling" ? "it is being cancelled: no task run may start" : `it is ${flowRun.state}`;
    throw new PrefectliteError(
      "Conflict",
      `State update failed for task run ID ${taskRun.id}: provided a running state but associated flow run ${flowRun.id} is not in a running state (${why}).`,
    );
  }
  if (versionLocked && to === "Running" && taskRun.state === "Running") {
    throw new PrefectliteError(
      "Conflict",
      `State update refused for task run ${taskRun.id}: it is already Running and version locking is enabled for this flow (a task run runs once)`,
    );
  }
}

/**
 * Write a flow-run state over `version`: checks the version and the transition, refreshes the
 * heartbeat (Running, Submitted), records the agent (Submitted), and a Cancelled run cancels
 * its unfinished task runs. Returns the new version. Runs inside the caller's transaction.
 */
export async function writeFlowRunState(
  deps: ServiceDeps,
  run: FlowRunRecord,
  version: number,
  state: StampedState,
  options: { agentId?: string | null; rerun?: boolean; writeId?: string } = {},
): Promise<number> {
  checkVersion("flow run", run.id, run.version, version);
  if (!canTransition(run.state, state.type, { rerun: options.rerun })) refuseTransition("flow run", run.id, run.state, state.type);
  const now = isoNow(deps);
  if (state.type === "Cancelled") await cancelTaskRuns(deps, run.id, now);
  const beats = state.type === "Running" || state.type === "Submitted";
  const agentId = state.type === "Submitted" ? (options.agentId ?? null) : null;
  return await deps.store.flowRuns.writeState(run.id, version, stateWrite(state, { heartbeat: beats ? now : null, agentId, writeId: options.writeId }));
}

/** A Cancelled flow run's unfinished task runs end Cancelled, each saying whether it had started. */
async function cancelTaskRuns(deps: ServiceDeps, flowRunId: string, now: string): Promise<void> {
  for (const taskRun of await deps.store.taskRuns.unfinished(flowRunId)) {
    const message = isRunningType(taskRun.state) || taskRun.state === "Retrying" || taskRun.state === "Looped"
      ? "Flow run is cancelled: this task run had started and not finished"
      : "Flow run is cancelled: this task run never started";
    await deps.store.taskRuns.writeState(taskRun.id, taskRun.version, stateWrite(serverState("Cancelled", message, now)));
  }
}
