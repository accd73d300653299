import { isFinalType, isStateType, type StateType } from "../core/state.ts";

/** Small formatting helpers shared by the pages: times, durations, state colours, JSON. */

const pad = (n: number) => String(n).padStart(2, "0");

/** `2026-01-31 14:05:09` in the server's local time ("—" for none). */
export function formatTime(iso: unknown): string {
  if (typeof iso !== "string" || !iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `HH:MM:SS` in local time, as the CLI prints log lines. */
export function formatClock(iso: unknown): string {
  return formatTime(iso).slice(11) || "—";
}

/** 850 ms, 12.3 s, 4m 05s, 2h 03m. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
}

/** Milliseconds between two ISO times (end defaults to `now`), or undefined without a start. */
export function durationMs(start: unknown, end: unknown, now: Date): number | undefined {
  if (typeof start !== "string") return undefined;
  const from = Date.parse(start);
  const to = typeof end === "string" ? Date.parse(end) : now.getTime();
  return Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, to - from) : undefined;
}

/** The colour family of a state: one CSS class per family (see styles.ts). */
export function stateClass(state: unknown): string {
  switch (state as StateType) {
    case "Success":
    case "Cached":
      return "st-success";
    case "Mapped":
      return "st-mapped";
    case "Skipped":
      return "st-skipped";
    case "Failed":
    case "TriggerFailed":
    case "TimedOut":
    case "ValidationFailed":
      return "st-failed";
    case "Running":
    case "Looped":
      return "st-running";
    case "Paused":
      return "st-paused";
    case "Retrying":
      return "st-retrying";
    case "Cancelling":
    case "Cancelled":
      return "st-cancelled";
    case "Scheduled":
    case "Resume":
    case "Submitted":
    case "Queued":
      return "st-scheduled";
    default:
      return "st-pending";
  }
}

/** The run has ended (a Looped task run has not: its loop goes on). */
export const isFinished = (state: unknown) => isStateType(state) && isFinalType(state);

/** Compact JSON for showing parameters and labels. */
export function showJson(value: unknown): string {
  if (value === undefined || value === null) return "—";
  return JSON.stringify(value);
}

/** A list of labels as strings (a JSON column may hold anything). */
export function labelsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
