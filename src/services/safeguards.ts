import { newId } from "./ids.ts";
import { agentlessLabelOf } from "../core/agentless-label.ts";
import { isPrefectliteError, notFoundError, validationError } from "../core/errors.ts";
import { isFinalType, type SerializedState, type StateType } from "../core/state.ts";
import type { FlowRunRecord, NewLog, ZombieTaskRun } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { serverState, stateWrite, type StampedState } from "./state-input.ts";
import { writeFlowRunState } from "./states.ts";
import { requireString, requireUuid } from "./validate.ts";

/** How many times Lazarus reschedules a run before it fails it (Prefect Server's limit). */
export const MAX_RESURRECTIONS = 3;
/** The most runs or task runs one pass handles (the next pass takes the rest). */
export const SAFEGUARD_BATCH = 500;

export interface KillZombiesOptions {
  /** A run whose last heartbeat is older than this is lost (missed beats × heartbeat interval). */
  staleAfterMs: number;
  limit?: number;
}

export interface KillZombiesResult {
  /** Task runs set Retrying (their task had retries left). */
  retried: number;
  /** Task runs set Failed. */
  failed: number;
  /** Cancelling flow runs whose process is gone, set Cancelled. */
  cancelled: number;
  /** Present when another process was running this pass (nothing was done). */
  skipped?: true;
}

export interface ResurrectRunsOptions {
  /** How long a Submitted/Running run may go without a heartbeat before Lazarus acts. */
  staleAfterMs: number;
  limit?: number;
  /**
   * What becomes of a silent agentless run (`run --execute`, label `agentless-run-…`), which no
   * agent can take: "fail" it (default), or "reschedule" it for an agent by dropping that label.
   */
  agentlessRuns?: "fail" | "reschedule";
}

export interface ResurrectRunsResult {
  rescheduled: number;
  failed: number;
  /** Present when another process was running this pass (nothing was done). */
  skipped?: true;
}

/** The final states a run's process may be ended with from outside it. */
export type AbandonedRunState = "Failed" | "Cancelled";

export interface EndAbandonedRunInput {
  flowRunId: string;
  state: AbandonedRunState;
  /** Why (the run's state message and an ERROR log line). */
  message: string;
  /** The log line's logger (the agent's name, `prefectlite.execute`…). */
  logger?: string;
}

export interface EndAbandonedRunResult {
  /** The run's state after the call (unchanged when it had already finished). */
  state: StateType;
  changed: boolean;
}

/** The longest message an abandoned run may be ended with. */
const MAX_ABANDON_MESSAGE = 4000;

export const ZOMBIE_LOGGER = "ZombieKiller.TaskRun";
export const ZOMBIE_FLOW_LOGGER = "ZombieKiller.FlowRun";
export const LAZARUS_LOGGER = "Lazarus.FlowRun";
export const RUN_PROCESS_LOGGER = "prefectlite.RunProcess";

/**
 * The safeguards of SPEC §4. The zombie killer ends the Running task runs of a run that missed
 * its heartbeats (Retrying when the task has retries left, else Failed) and finishes a
 * Cancelling run whose process is gone. Lazarus reschedules a Submitted/Running run that has
 * gone quiet with no task run still Running, at most three times, then fails it. Both skip
 * flows whose group switched heartbeats off (Lazarus also `lazarus_enabled: false`). Every
 * change is a versioned write in its own transaction: a run that moved meanwhile (its process
 * came back) is left alone. A run that ends Failed or Cancelled here leaves no task run
 * unfinished: each gets the run's final state with a message saying why.
 */
export function createSafeguardService(deps: ServiceDeps) {
  const { store } = deps;

  function cutoff(staleAfterMs: number): string {
    if (!(Number.isFinite(staleAfterMs) && staleAfterMs > 0)) throw validationError("staleAfterMs must be a positive number");
    return new Date(deps.now().getTime() - staleAfterMs).toISOString();
  }

  /** Run `write`; a VersionConflict (someone changed the run meanwhile) is not an error here. */
  async function versioned(write: () => Promise<void>): Promise<void> {
    try {
      await store.transaction(write);
    } catch (e) {
      if (!(isPrefectliteError(e) && (e.code === "VersionConflict" || e.code === "Conflict"))) throw e;
    }
  }

  /** The flow run has not beaten (nor changed state) since `before`. */
  async function stillSilent(flowRunId: string, before: string): Promise<boolean> {
    const run = await store.flowRuns.get(flowRunId);
    const lastSign = run?.heartbeat ?? run?.serializedState.timestamp ?? null;
    return lastSign !== null && lastSign < before;
  }

  async function log(flowRunId: string, taskRunId: string | null, name: string, level: "INFO" | "WARNING" | "ERROR", message: string, now: string) {
    const row: NewLog = { id: newId(), flowRunId, taskRunId, timestamp: now, name, level, message, info: null };
    await store.logs.insertValid([row], now);
  }

  /**
   * Give each unfinished task run of a run that ends `type` from outside its process a final
   * state of that type saying why (inside the caller's transaction).
   */
  async function endUnfinishedTaskRuns(flowRunId: string, type: AbandonedRunState, why: string, now: string): Promise<void> {
    const message = `The flow run ended ${type} before this task run finished: ${why}`;
    for (const taskRun of await store.taskRuns.unfinished(flowRunId)) {
      await store.taskRuns.writeState(taskRun.id, taskRun.version, stateWrite(serverState(type, message, now)));
    }
  }

  /** End the run `type` with its unfinished task runs, and log why (inside the caller's transaction). */
  async function endRun(run: FlowRunRecord, type: AbandonedRunState, message: string, logger: string, now: string): Promise<void> {
    await endUnfinishedTaskRuns(run.id, type, message, now);
    await writeFlowRunState(deps, run, run.version, serverState(type, message, now));
    await log(run.id, null, logger, type === "Failed" ? "ERROR" : "WARNING", message, now);
  }

  /**
   * A run whose process is gone, or was killed (hung at import, cancelled and still running), ends
   * `state` — with every task run it left Pending, Running or Retrying — unless it has finished
   * meanwhile. The agent, `run --execute` and agentless sub-flows call this after their child.
   */
  async function endAbandonedRun(input: EndAbandonedRunInput): Promise<EndAbandonedRunResult> {
    const id = requireUuid(input?.flowRunId, "flow_run_id");
    if (input.state !== "Failed" && input.state !== "Cancelled") throw validationError(`state must be Failed or Cancelled, got ${JSON.stringify(input.state)}`);
    const message = requireString(input.message, "message");
    if (message.length > MAX_ABANDON_MESSAGE) throw validationError(`message is longer than ${MAX_ABANDON_MESSAGE} characters`);
    const logger = input.logger === undefined || input.logger === null ? RUN_PROCESS_LOGGER : requireString(input.logger, "logger").slice(0, 200);
    return await store.transaction(async () => {
      await store.lock.flowRun(id, "update");
      const run = await store.flowRuns.get(id);
      if (!run) throw notFoundError(`Flow run ${id} not found`);
      if (isFinalType(run.state)) return { state: run.state, changed: false };
      await endRun(run, input.state, message, logger, isoNow(deps));
      return { state: input.state, changed: true };
    });
  }

  function zombieState(z: ZombieTaskRun, now: Date): StampedState {
    const timestamp = now.toISOString();
    if (z.flowRunState === "Running" && z.attempts <= z.maxRetries) {
      const state: SerializedState = {
        type: "Retrying",
        message: `No heartbeat detected from the remote task; retrying the run. This will be retry ${z.attempts} of ${z.maxRetries}.`,
        startTime: new Date(now.getTime() + z.retryDelayMs).toISOString(),
        runCount: z.attempts,
      };
      return { ...state, timestamp };
    }
    return serverState(
      "Failed",
      `No heartbeat detected from the remote task; marking the task run ${z.id} (${z.taskSlug}) as failed.`,
      timestamp,
    );
  }

  /** One zombie-killer pass, unless another process is running one (then `skipped`). */
  async function killZombies(options: KillZombiesOptions): Promise<KillZombiesResult> {
    const before = cutoff(options.staleAfterMs);
    const pass = await store.exclusive("zombie-killer", () => killZombiesNow(before, options));
    return pass.ran ? pass.value : { retried: 0, failed: 0, cancelled: 0, skipped: true };
  }

  async function killZombiesNow(before: string, options: KillZombiesOptions): Promise<KillZombiesResult> {
    const limit = options.limit ?? SAFEGUARD_BATCH;
    const result: KillZombiesResult = { retried: 0, failed: 0, cancelled: 0 };
    for (const zombie of await store.safeguards.zombieTaskRuns(before, limit)) {
      const now = deps.now();
      const state = zombieState(zombie, now);
      await versioned(async () => {
        await store.lock.flowRun(zombie.flowRunId, "share");
        if (!(await stillSilent(zombie.flowRunId, before))) return; // it beat again since the pass read it
        await store.taskRuns.writeState(zombie.id, zombie.version, stateWrite(state));
        await log(zombie.flowRunId, zombie.id, ZOMBIE_LOGGER, "ERROR", state.message ?? "", now.toISOString());
        result[state.type === "Retrying" ? "retried" : "failed"]++;
      });
    }
    for (const run of await store.safeguards.silentCancellingRuns(before, limit)) {
      const now = isoNow(deps);
      const message = "No heartbeat detected from the flow run while it was cancelling; marking the run as cancelled.";
      await versioned(async () => {
        await store.lock.flowRun(run.id, "update");
        const current = await store.flowRuns.get(run.id);
        if (!current || current.version !== run.version) return;
        await writeFlowRunState(deps, current, run.version, serverState("Cancelled", message, now));
        await log(run.id, null, ZOMBIE_FLOW_LOGGER, "ERROR", message, now);
        result.cancelled++;
      });
    }
    return result;
  }

  /** One Lazarus pass, unless another process is running one (then `skipped`). */
  async function resurrectRuns(options: ResurrectRunsOptions): Promise<ResurrectRunsResult> {
    const before = cutoff(options.staleAfterMs);
    const pass = await store.exclusive("lazarus", () => resurrectRunsNow(before, options));
    return pass.ran ? pass.value : { rescheduled: 0, failed: 0, skipped: true };
  }

  async function resurrectRunsNow(before: string, options: ResurrectRunsOptions): Promise<ResurrectRunsResult> {
    const result: ResurrectRunsResult = { rescheduled: 0, failed: 0 };
    for (const candidate of await store.safeguards.lazarusCandidates(before, options.limit ?? SAFEGUARD_BATCH)) {
      const now = isoNow(deps);
      await versioned(async () => {
        await store.lock.flowRun(candidate.id, "update");
        const run = await store.flowRuns.get(candidate.id);
        if (!run || run.version !== candidate.version) return; // it moved since the pass read it
        const agentless = agentlessLabelOf(run.labels);
        if (agentless && options.agentlessRuns !== "reschedule") {
          const message =
            `The process executing this agentless run (label ${agentless}) is gone, and no agent can take a run with that label: marking it as failed. ` +
            "(PREFECTLITE_LAZARUS_RESCHEDULE_AGENTLESS=1 reschedules such runs for an agent instead.)";
          await endRun(run, "Failed", message, LAZARUS_LOGGER, now);
          result.failed++;
          return;
        }
        if (agentless) {
          // Handed to the agents: without its agentless label, an agent with no labels can take it.
          await store.safeguards.setLabels(run.id, run.labels.filter((l) => l !== agentless));
          const message = `Rescheduled by a Lazarus process for an agent (its agentless process is gone; label ${agentless} dropped). This is attempt ${candidate.timesResurrected + 1}.`;
          await writeFlowRunState(deps, run, run.version, serverState("Scheduled", message, now, now));
          await store.safeguards.incrementTimesResurrected(run.id);
          await log(run.id, null, LAZARUS_LOGGER, "INFO", message, now);
          await store.events.runsChanged({ at: now, labels: run.labels.filter((l) => l !== agentless) });
          result.rescheduled++;
          return;
        }
        if (candidate.timesResurrected < MAX_RESURRECTIONS) {
          const message = `Rescheduled by a Lazarus process. This is attempt ${candidate.timesResurrected + 1}.`;
          await writeFlowRunState(deps, run, run.version, serverState("Scheduled", message, now, now));
          await store.safeguards.incrementTimesResurrected(run.id);
          await log(run.id, null, LAZARUS_LOGGER, "INFO", message, now);
          await store.events.runsChanged({ at: now, labels: run.labels });
          result.rescheduled++;
        } else {
          const message = `A Lazarus process attempted to reschedule this run ${MAX_RESURRECTIONS} times without success. Marking as failed.`;
          await endRun(run, "Failed", message, LAZARUS_LOGGER, now);
          result.failed++;
        }
      });
    }
    return result;
  }

  return { killZombies, resurrectRuns, endAbandonedRun };
}
