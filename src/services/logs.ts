import { newId } from "./ids.ts";
import { validationError } from "../core/errors.ts";
import type { NewLog } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { WriteRunLogsResult } from "./types.ts";
import { isPlainObject } from "./validate.ts";

export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
/** Prefect's limit on one record. */
export const MAX_LOG_MESSAGE_BYTES = 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Run logs, Prefect's way: every valid row is kept, invalid ones (bad ids, unknown runs, bad
 * level or time, no message) are skipped. Rows use the API's names (`flow_run_id`, …) or camelCase.
 */
export function createLogService(deps: ServiceDeps) {
  function writeRunLogs(logs: unknown[]): WriteRunLogsResult {
    if (!Array.isArray(logs)) throw validationError("logs must be a list");
    const now = isoNow(deps);
    const valid: NewLog[] = [];
    for (const row of logs) {
      const log = parseLog(row, now);
      if (log) valid.push(log);
    }
    const written = valid.length ? deps.store.transaction(() => deps.store.logs.insertValid(valid, now)) : 0;
    return { written, skipped: logs.length - written };
  }
  return { writeRunLogs };
}

function parseLog(row: unknown, now: string): NewLog | null {
  if (!isPlainObject(row)) return null;
  const flowRunId = row.flow_run_id ?? row.flowRunId;
  const taskRunId = row.task_run_id ?? row.taskRunId ?? null;
  if (typeof flowRunId !== "string" || !UUID.test(flowRunId)) return null;
  if (taskRunId !== null && (typeof taskRunId !== "string" || !UUID.test(taskRunId))) return null;
  const level = row.level ?? "INFO";
  if (typeof level !== "string" || !(LOG_LEVELS as readonly string[]).includes(level.toUpperCase())) return null;
  const message = row.message;
  if (typeof message !== "string" || Buffer.byteLength(message) > MAX_LOG_MESSAGE_BYTES) return null;
  let timestamp = now;
  if (row.timestamp != null) {
    const t = typeof row.timestamp === "string" && /^\d{4}-\d{2}-\d{2}/.test(row.timestamp) ? new Date(row.timestamp) : null;
    if (!t || Number.isNaN(t.getTime())) return null;
    timestamp = t.toISOString();
  }
  const name = row.name ?? null;
  if (name !== null && typeof name !== "string") return null;
  const info = row.info ?? null;
  if (info !== null && !isPlainObject(info)) return null;
  // The writer's id for the line: a retried write whose first try was stored is not stored twice.
  const writeId = row.write_id ?? row.writeId ?? null;
  if (writeId !== null && (typeof writeId !== "string" || !UUID.test(writeId))) return null;
  return {
    id: writeId === null ? newId() : writeId.toLowerCase(),
    flowRunId: flowRunId.toLowerCase(),
    taskRunId: taskRunId === null ? null : (taskRunId as string).toLowerCase(),
    timestamp,
    name,
    level: level.toUpperCase(),
    message,
    info,
  };
}
