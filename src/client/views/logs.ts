import { LOG_LEVELS, type LogLevel } from "../../core/logging.ts";
import type { BackendClient } from "../client.ts";
import { LOG_PAGE } from "../documents.ts";

/** One log line of a flow run, as stored. */
export interface FlowRunLog {
  id: string;
  /** ISO time the line was recorded. */
  timestamp: string;
  level: LogLevel;
  name: string | null;
  message: string;
  taskRunId: string | null;
}

interface LogRow {
  id: string;
  timestamp: string;
  level: string;
  name: string | null;
  message: string;
  task_run_id: string | null;
  created: string;
}

const PAGE = 1000;
/**
 * Oldest first. Lines of one batch often share a millisecond: ordering by the time alone reads
 * the (flow_run_id, timestamp) index, whose ties come in insertion order — a further sort key
 * (such as the random id) would shuffle them.
 */
const BY_TIME = [{ timestamp: "asc" }];

/** The levels at or above `level` (the stored level is a string). */
export function levelsFrom(level: LogLevel | undefined): LogLevel[] {
  const min = LOG_LEVELS[level ?? "DEBUG"];
  return (Object.keys(LOG_LEVELS) as LogLevel[]).filter((l) => LOG_LEVELS[l] >= min);
}

const toLog = (r: LogRow): FlowRunLog => ({
  id: r.id,
  timestamp: r.timestamp,
  level: r.level as LogLevel,
  name: r.name,
  message: r.message,
  taskRunId: r.task_run_id,
});

async function logPage(
  client: BackendClient,
  flowRunId: string,
  where: Record<string, unknown>,
  orderBy: Array<Record<string, string>>,
  offset: number,
): Promise<LogRow[]> {
  const data = await client.graphql<{ log: LogRow[] }>(LOG_PAGE, { where: { flow_run_id: { _eq: flowRunId }, ...where }, orderBy, limit: PAGE, offset });
  return data.log;
}

/** Every log line of a flow run at or above `level`, oldest first. */
export async function readFlowRunLogs(client: BackendClient, flowRunId: string, options: { level?: LogLevel } = {}): Promise<FlowRunLog[]> {
  const out: FlowRunLog[] = [];
  const where = { level: { _in: levelsFrom(options.level) } };
  for (let offset = 0; ; offset += PAGE) {
    const page = await logPage(client, flowRunId, where, BY_TIME, offset);
    out.push(...page.map(toLog));
    if (page.length < PAGE) return out;
  }
}

/** How far back a follower looks again for lines written late by a slower writer. */
const OVERLAP_MS = 5_000;

/**
 * Reads the log lines of a flow run that were written since the last call, in the order the
 * backend received them. Lines arrive in batches from other processes, so each call looks a
 * little back in time again and skips what it already returned.
 */
export class LogFollower {
  private since: string | undefined;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly client: BackendClient,
    readonly flowRunId: string,
    private readonly level?: LogLevel,
  ) {}

  async next(): Promise<FlowRunLog[]> {
    const where: Record<string, unknown> = { level: { _in: levelsFrom(this.level) } };
    if (this.since) where.created = { _gte: new Date(Date.parse(this.since) - OVERLAP_MS).toISOString() };
    const fresh: LogRow[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await logPage(this.client, this.flowRunId, where, BY_TIME, offset);
      for (const row of page) if (!this.seen.has(row.id)) fresh.push(row);
      if (page.length < PAGE) break;
    }
    for (const row of fresh) {
      this.seen.set(row.id, Date.parse(row.created));
      if (!this.since || row.created > this.since) this.since = row.created;
    }
    this.forgetOld();
    return fresh.map(toLog);
  }

  /** Ids older than the look-back window can never come back: drop them. */
  private forgetOld(): void {
    if (!this.since) return;
    const horizon = Date.parse(this.since) - 2 * OVERLAP_MS;
    for (const [id, created] of this.seen) if (created < horizon) this.seen.delete(id);
  }
}
