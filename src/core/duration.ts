import { validationError } from "./errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration as milliseconds: a number is ms; a string is "250ms", "30s", "5m", "2h", "1d" or "1m30s". */
export type Duration = number | string;

export function parseDuration(value: Duration, what = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw validationError(`invalid ${what}: ${value}`);
    return value;
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw validationError(`invalid ${what} '${value}': use ms or a string like "30s", "5m", "1h"`);
  }
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * UNIT_MS[unit!]!, 0);
}
