import { describeCancel, TALLY_STATES, type TaskRunTally } from "../core/cancel-report.ts";
import type { StateType } from "../core/state.ts";
import type { ReadModel } from "../services/read-model.ts";
import { settings } from "../settings.ts";

/** How long the Cancel button's POST waits for a running run to end Cancelled before the page says where it is. */
export const CANCEL_WAIT_MS = 3_000;
/** How long a run's process may take to see a cancel (its watch polls every second). */
const NOTICE_MS = 1_000;

const stateOf = async (reads: ReadModel, id: string) => (await reads.byPk("flow_run", id, ["state"]))?.state as StateType | undefined;

/** Wait (without blocking the server) until the run is no longer Cancelling, or `waitMs` passed. */
export async function untilCancelSettled(reads: ReadModel, id: string, waitMs = CANCEL_WAIT_MS): Promise<void> {
  const deadline = Date.now() + waitMs;
  while ((await stateOf(reads, id)) === "Cancelling" && Date.now() < deadline) await Bun.sleep(100);
}

/** What the cancel of run `id` did, as stored now (the run page's notice after its Cancel button). */
export async function cancelNotice(reads: ReadModel, id: string, now: Date): Promise<string | undefined> {
  const state = await stateOf(reads, id);
  if (!state) return undefined;
  const count = (states?: readonly string[]) =>
    reads.count("task_run", states ? { _and: [{ flow_run_id: { _eq: id } }, { state: { _in: states } }] } : { flow_run_id: { _eq: id } });
  const [completed, failed, cancelled, all] = [
    await count(TALLY_STATES.completed),
    await count(TALLY_STATES.failed),
    await count(TALLY_STATES.cancelled),
    await count(),
  ];
  const tally: TaskRunTally = { completed, failed, cancelled, unfinished: all - completed - failed - cancelled };
  // Measured from the run's Cancelling state, stamped by this server's clock.
  const [asked] = (await reads.select("flow_run_state", { where: { _and: [{ flow_run_id: { _eq: id } }, { state: { _eq: "Cancelling" } }] }, order_by: { version: "desc" }, limit: 1 }, [
    "timestamp",
  ]));
  const since = asked ? now.getTime() - Date.parse(String(asked.timestamp)) : 0;
  const stopsInSeconds = (settings.cancelKillSeconds() * 1000 + NOTICE_MS - since) / 1000;
  return describeCancel({ id, state, tally, stopsInSeconds });
}
