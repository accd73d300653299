/** `get task-runs --flow-run ID` and `get logs --flow-run ID [--level L] [--follow]`. */
import type { BackendClient } from "../../client/client.ts";
import { LIST_TASK_RUNS } from "../../client/documents.ts";
import { FlowRunView, LogFollower, readFlowRunLogs, type FlowRunLog } from "../../client/views/index.ts";
import { PrefectliteError } from "../../core/errors.ts";
import { parseLogLevel, type LogLevel } from "../../core/logging.ts";
import type { SerializedState } from "../../core/state.ts";
import { formatLogLine } from "../../engine/log-format.ts";
import { LocalResultStore } from "../../engine/result-store.ts";
import { settings } from "../../settings.ts";
import { table } from "../output.ts";
import { duration, localDateTime } from "./time-format.ts";

interface TaskRunListRow {
  id: string;
  task_slug: string;
  map_index: number;
  state: string | null;
  serialized_state: SerializedState | null;
  start_time: string | null;
  end_time: string | null;
}

function requireFlowRun(flowRun: string | undefined, what: string): string {
  if (!flowRun) throw new PrefectliteError("Usage", `get ${what} needs --flow-run ID`);
  return flowRun;
}

/** The task runs of one flow run (children included), by slug then map index. */
export async function getTaskRuns(
  client: BackendClient,
  o: { flowRun?: string; state?: string; limit: number; json: boolean },
): Promise<string> {
  const run = await FlowRunView.fromFlowRunId(requireFlowRun(o.flowRun, "task-runs"), { client, results: new LocalResultStore(settings.resultsDir()) });
  const where: Record<string, unknown> = { flow_run_id: { _eq: run.flowRunId } };
  if (o.state) where.state = { _eq: o.state };
  const data = await client.graphql<{ task_run: TaskRunListRow[]; task_run_aggregate: { aggregate: { count: number } } }>(
    LIST_TASK_RUNS,
    { where, limit: o.limit },
  );
  const rows = data.task_run;
  if (o.json) {
    const records = rows.map((r) => ({
      id: r.id,
      taskSlug: r.task_slug,
      mapIndex: r.map_index,
      state: r.state,
      message: r.serialized_state?.message ?? null,
      startTime: r.start_time,
      endTime: r.end_time,
      resultLocation: r.serialized_state?.result?.location ?? null,
    }));
    return `${JSON.stringify(records, null, 2)}\n`;
  }
  const total = data.task_run_aggregate.aggregate.count;
  const body = table(
    ["TASK RUN", "MAP INDEX", "STATE", "START", "DURATION", "ID"],
    rows.map((r) => [r.task_slug, r.map_index < 0 ? "" : String(r.map_index), r.state ?? "", localDateTime(r.start_time), duration(r.start_time, r.end_time), r.id]),
  );
  return total > rows.length ? `${body}(${rows.length} of ${total} task runs: raise --limit to see more)\n` : body;
}

export function parseLevel(level: string | undefined): LogLevel | undefined {
  if (level === undefined) return undefined;
  const parsed = parseLogLevel(level);
  if (!parsed) throw new PrefectliteError("Usage", `--level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got '${level}')`);
  return parsed;
}

const logLine = (l: FlowRunLog, json: boolean) =>
  json ? JSON.stringify(l) : formatLogLine({ timestamp: Date.parse(l.timestamp), level: l.level, message: l.message });

/**
 * A flow run's log lines at or above `level`. With `follow`, keep printing new lines as they
 * arrive until the run is finished (JSON: one object per line).
 */
export async function getLogs(
  client: BackendClient,
  o: { flowRun?: string; level?: string; follow: boolean; json: boolean; pollMs?: number },
  write: (text: string) => void,
): Promise<void> {
  const level = parseLevel(o.level);
  let run = await FlowRunView.fromFlowRunId(requireFlowRun(o.flowRun, "logs"), { client, results: new LocalResultStore(settings.resultsDir()) });
  if (!o.follow) {
    const logs = await readFlowRunLogs(client, run.flowRunId, { level });
    write(o.json ? `${JSON.stringify(logs, null, 2)}\n` : logs.map((l) => `${logLine(l, false)}\n`).join(""));
    return;
  }
  const follower = new LogFollower(client, run.flowRunId, level);
  for (;;) {
    const finished = run.state.isFinished();
    for (const l of await follower.next()) write(`${logLine(l, o.json)}\n`);
    if (finished) return;
    await Bun.sleep(o.pollMs ?? 500);
    run = await run.getLatest();
  }
}
