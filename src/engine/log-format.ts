import type { LogLevel, LogRecord } from "../core/logging.ts";

const pad2 = (n: number) => String(n).padStart(2, "0");

/** Local wall-clock time as HH:MM:SS. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** `11:21:52 | INFO    | message`, the shape Prefect's CLI prints. */
export function formatLogLine(record: Pick<LogRecord, "timestamp" | "level" | "message">): string {
  return `${clockTime(record.timestamp)} | ${record.level.padEnd(8)}| ${record.message}`;
}

export type { LogLevel };
