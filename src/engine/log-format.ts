import { readlinkSync } from "node:fs";
import type { LogLevel, LogRecord } from "../core/logging.ts";

const pad2 = (n: number) => String(n).padStart(2, "0");

const UTC_ZONE = /^:?(Etc\/)?(UTC|UCT|Universal|Zulu|GMT|GMT0|Greenwich)$/;
let localIsUtc: boolean | undefined;

/**
 * Whether this machine's local time is UTC (TZ, else the /etc/localtime link), so a clock time
 * needs no time-zone lookup: the first one loads ICU's zone data, ~5 ms of a 20 ms cold start
 * in the compiled binary. Servers and CI containers usually run in UTC; elsewhere the lookup
 * is simply paid once.
 */
function isLocalTimeUtc(): boolean {
  if (localIsUtc !== undefined) return localIsUtc;
  const tz = process.env.TZ;
  if (tz !== undefined) return (localIsUtc = tz === "" || UTC_ZONE.test(tz));
  try {
    const zone = readlinkSync("/etc/localtime").split("/zoneinfo/")[1];
    localIsUtc = zone !== undefined && UTC_ZONE.test(zone);
  } catch {
    localIsUtc = false; // not a link (or no such file): ask the runtime
  }
  return localIsUtc;
}

/** Local wall-clock time as HH:MM:SS. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  if (isLocalTimeUtc()) return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** `11:21:52 | INFO    | message`, the shape Prefect's CLI prints. */
export function formatLogLine(record: Pick<LogRecord, "timestamp" | "level" | "message">): string {
  return `${clockTime(record.timestamp)} | ${record.level.padEnd(8)}| ${record.message}`;
}

export type { LogLevel };
