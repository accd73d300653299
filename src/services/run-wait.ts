import { validationError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { normalizeLabels } from "./validate.ts";

/** The longest one wait for runs lasts (the server's HTTP idle timeout is longer: server/serve.ts). */
export const MAX_RUN_WAIT_MS = 30_000;

export interface WaitForRunsInput {
  /** The agent's labels: only runs whose labels are all among these count. */
  labels?: string[] | null;
  /** At most this long (capped at MAX_RUN_WAIT_MS); 0 answers at once. */
  waitMs: number;
  /** The caller went away (its request was closed). */
  signal?: AbortSignal;
}

/**
 * A remote agent's long poll: answers `due: true` as soon as a run these labels cover may be
 * waiting to start — at once when one is due now, else on a run event (a run created, restarted
 * or rescheduled through any replica: store.events), or when the next waiting run's start time
 * comes — and `due: false` at the end of the wait. It only reads, outside any transaction; the
 * agent claims afterwards, so a wait never holds a transaction or a lock.
 */
export function createRunWaitService(deps: ServiceDeps) {
  async function dueNow(labels: string[]): Promise<boolean> {
    // prefectlite's agents wait here, and they never take a Python flow's runs (agents.ts claimRuns).
    const due = await deps.store.flowRuns.queue({ labels, before: isoNow(deps), limit: 1, includeRunning: false, runtime: "typescript" });
    return due.length > 0;
  }

  async function waitForRuns(input: WaitForRunsInput): Promise<{ due: boolean }> {
    const labels = input.labels == null ? [] : normalizeLabels(input.labels);
    if (!Number.isSafeInteger(input.waitMs) || input.waitMs < 0) throw validationError(`wait_ms must be a whole number ≥ 0 (got ${input.waitMs})`);
    const waitMs = Math.min(input.waitMs, MAX_RUN_WAIT_MS);
    const dueAtOnce = await dueNow(labels);
    if (dueAtOnce || waitMs === 0 || input.signal?.aborted) return { due: dueAtOnce };
    const deadline = Date.now() + waitMs;
    const covered = (runLabels: readonly string[]) => runLabels.every((l) => labels.includes(l));

    return await new Promise<{ due: boolean }>((resolve) => {
      const timers = new Set<ReturnType<typeof setTimeout>>();
      let finished = false;
      let checking = false;
      let checkAgain = false;
      const finish = (due: boolean) => {
        if (finished) return;
        finished = true;
        for (const t of timers) clearTimeout(t);
        unsubscribe();
        input.signal?.removeEventListener("abort", onAbort);
        resolve({ due });
      };
      const onAbort = () => finish(false);
      /** Look again at `at` (ms since the epoch) if that is before the deadline. */
      const checkAt = (at: number) => {
        const delay = at - Date.now();
        if (delay >= deadline - Date.now()) return;
        const t = setTimeout(() => {
          timers.delete(t);
          void check();
        }, Math.max(0, delay));
        timers.add(t);
      };
      /** One look at a time; a look asked for meanwhile runs after it. */
      const check = async (): Promise<void> => {
        if (finished) return;
        if (checking) {
          checkAgain = true;
          return;
        }
        checking = true;
        try {
          if (await dueNow(labels)) return finish(true);
          // The next run to come due (of any labels: a spare look, never a missed one).
          const next = await deps.store.schedules.nextDueAfter(isoNow(deps));
          if (next !== undefined) checkAt(Date.parse(next));
        } catch {
          // the database unreachable for a moment: the next event, or the deadline, answers
        } finally {
          checking = false;
          if (checkAgain && !finished) {
            checkAgain = false;
            void check();
          }
        }
      };
      const unsubscribe = deps.store.events.subscribe(
        (hint) => {
          if (!covered(hint.labels)) return;
          const at = Date.parse(hint.at);
          if (Number.isFinite(at) && at > Date.now()) checkAt(at);
          else void check();
        },
        // Listening (again): anything made due before that is looked for now.
        () => void check(),
      );
      input.signal?.addEventListener("abort", onAbort, { once: true });
      const t = setTimeout(() => finish(false), deadline - Date.now());
      timers.add(t);
      void check();
    });
  }

  return { waitForRuns };
}
