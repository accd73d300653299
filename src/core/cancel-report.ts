import { STATE_TYPES, isFailedType, isFinalType, isSuccessfulType, type StateType } from "./state.ts";

/** A flow run's task runs by outcome, as stored. */
export interface TaskRunTally {
  completed: number;
  failed: number;
  cancelled: number;
  /** Not finished: Pending, Running, Retrying, Paused, Looped… */
  unfinished: number;
}

/** The task-run states (type by type) a tally counts in each bucket: queries filter on these. */
export const TALLY_STATES: Record<Exclude<keyof TaskRunTally, "unfinished">, readonly StateType[]> = {
  completed: STATE_TYPES.filter(isSuccessfulType),
  failed: STATE_TYPES.filter(isFailedType),
  cancelled: ["Cancelled"],
};

export function tallyOf(states: readonly StateType[]): TaskRunTally {
  const tally: TaskRunTally = { completed: 0, failed: 0, cancelled: 0, unfinished: 0 };
  for (const s of states) {
    if (!isFinalType(s)) tally.unfinished++;
    else if (s === "Cancelled") tally.cancelled++;
    else if (isSuccessfulType(s)) tally.completed++;
    else if (isFailedType(s)) tally.failed++;
  }
  return tally;
}

export interface CancelReport {
  id: string;
  /** The flow run's state after the cancel (and any wait for it to end). */
  state: StateType;
  tally: TaskRunTally;
  /** Still Cancelling: about how long until its process is stopped. */
  stopsInSeconds?: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * One line saying what a cancel did, from what is stored: `Flow run X cancelled: 2 task runs
 * completed, 3 cancelled`, or that its process has not stopped yet, or that it had finished.
 */
export function describeCancel(r: CancelReport): string {
  const { completed, failed, cancelled, unfinished } = r.tally;
  if (r.state === "Cancelled") {
    const parts = [`${plural(completed, "task run")} completed`, ...(failed ? [`${failed} failed`] : []), `${cancelled} cancelled`];
    return `Flow run ${r.id} cancelled: ${parts.join(", ")}`;
  }
  if (r.state === "Cancelling") {
    const stops = r.stopsInSeconds === undefined ? "" : ` (it will be stopped after ${Math.max(1, Math.ceil(r.stopsInSeconds))} s)`;
    const under = unfinished ? `${plural(unfinished, "task run")} not finished, ` : "";
    return `Flow run ${r.id} is Cancelling: ${under}the run's process has not stopped yet${stops}`;
  }
  if (isFinalType(r.state)) return `Flow run ${r.id} had already finished: ${r.state}`;
  return `Flow run ${r.id} is ${r.state}`;
}
