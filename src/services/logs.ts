import { newId } from "./ids.ts";
import { validationError } from "../core/errors.ts";
import type { NewLog } from "../storage/store.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { WriteRunLogsResult } from "./types.ts";
import { settings } from "../settings.ts";
import { describe, isPlainObject, jsonNestsDeeperThan } from "./validate.ts";
import { isUuid } from "../core/uuid.ts";

export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
/** Prefect's limit on one record. */
export const MAX_LOG_MESSAGE_BYTES = 1024 * 1024;


/** Reasons given for at most this many skipped lines (the count covers them all). */
const MAX_REASONS = 20;

/**
 * Run logs, Prefect's way: every valid row is kept, invalid ones (bad ids, unknown runs, bad
 * level or time, no message) are skipped, each with its reason (`problems`, and a summary in
 * `error`). Rows use the API's names (`flow_run_id`, …) or camelCase.
 */
export function createLogService(deps: ServiceDeps) {
  async function writeRunLogs(logs: unknown[]): Promise<WriteRunLogsResult> {
    if (!Array.isArray(logs)) throw validationError("logs must be a list");
    const now = isoNow(deps);
    const valid: NewLog[] = [];
    const problems: string[] = [];
    let refused = 0;
    logs.forEach((row, i) => {
      const log = parseLog(row, now);
      if (typeof log !== "string") valid.push(log);
      else if (++refused <= MAX_REASONS) problems.push(`logs[${i}]: ${log}`);
    });
    const written = valid.length ? await deps.store.transaction(async () => await deps.store.logs.insertValid(valid, now)) : 0;
    const unknownRuns = valid.length - written;
    if (refused > MAX_REASONS) problems.push(`… and ${refused - MAX_REASONS} more lines refused`);
    if (unknownRuns) {
      problems.push(`${unknownRuns} line(s) not stored: they name a flow run that does not exist or a task run not of that flow run, or their write_id is stored already`);
    }
    const skipped = logs.length - written;
    const result: WriteRunLogsResult = { written, skipped };
    if (skipped) {
      result.problems = problems;
      result.error = `${skipped} of ${logs.length} log lines skipped: ${problems.join("; ")}`;
    }
    return result;
  }
  return { writeRunLogs };
}

/** The row to insert, or why it cannot be. */
function parseLog(row: unknown, now: string): NewLog | string {
  if (!isPlainObject(row)) return "a log line must be an object";
  const flowRunId = row.flow_run_id ?? row.flowRunId;
  const taskRunId = row.task_run_id ?? row.taskRunId ?? null;
  if (!isUuid(flowRunId)) return "flow_run_id must be a UUID";
  if (taskRunId !== null && !isUuid(taskRunId)) return "task_run_id must be a UUID or null";
  const level = row.level ?? "INFO";
  if (typeof level !== "string" || !(LOG_LEVELS as readonly string[]).includes(level.toUpperCase())) {
    return `unknown level ${describe(level)} (use one of ${LOG_LEVELS.join(", ")})`;
  }
  const message = row.message;
  if (typeof message !== "string") return "message must be a string";
  if (Buffer.byteLength(message) > MAX_LOG_MESSAGE_BYTES) return `message is larger than ${MAX_LOG_MESSAGE_BYTES / (1024 * 1024)} MB`;
  let timestamp = now;
  if (row.timestamp != null) {
    const t = typeof row.timestamp === "string" && /^\d{4}-\d{2}-\d{2}/.test(row.timestamp) ? new Date(row.timestamp) : null;
    if (!t || Number.isNaN(t.getTime())) return `timestamp must be an ISO-8601 time, got ${describe(row.timestamp)}`;
    timestamp = t.toISOString();
  }
  const name = row.name ?? null;
  if (name !== null && typeof name !== "string") return "name must be a string";
  const info = row.info ?? null;
  if (info !== null && !isPlainObject(info)) return "info must be a JSON object";
  if (info !== null && jsonNestsDeeperThan(info, settings.maxJsonDepth())) {
    return `info nests deeper than ${settings.maxJsonDepth()} levels (PREFECTLITE_MAX_JSON_DEPTH)`;
  }
  // The writer's id for the line: a retried write whose first try was stored is not stored twice.
  const writeId = row.write_id ?? row.writeId ?? null;
  if (writeId !== null && !isUuid(writeId)) return "write_id must be a UUID";
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
