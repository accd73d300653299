import type { State } from "./state.ts";

/** Decides from the upstream states whether a task may run. */
export interface Trigger {
  readonly name: string;
  readonly check: (upstream: readonly State[]) => boolean;
}

const trigger = (name: string, check: (upstream: readonly State[]) => boolean): Trigger => ({ name, check });

/** Run when every upstream succeeded (the default; Skipped and Mapped count as success). */
export const allSuccessful = trigger("all_successful", (u) => u.every((s) => s.isSuccessful()));
/** Run when every upstream finished, whatever the outcome. */
export const allFinished = trigger("all_finished", (u) => u.every((s) => s.isFinished()));
/** Alias of allFinished, as Prefect had. */
export const always = allFinished;
/** Run when at least one upstream failed (an error handler). */
export const anyFailed = trigger("any_failed", (u) => u.length === 0 || u.some((s) => s.isFailed()));
/** Run when at least one upstream succeeded. */
export const anySuccessful = trigger("any_successful", (u) => u.length === 0 || u.some((s) => s.isSuccessful()));
/** Run when every upstream failed. */
export const allFailed = trigger("all_failed", (u) => u.every((s) => s.isFailed()));

export const TRIGGERS: Record<string, Trigger> = Object.fromEntries(
  [allSuccessful, allFinished, anyFailed, anySuccessful, allFailed].map((t) => [t.name, t]),
);
