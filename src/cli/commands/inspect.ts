import { FlowRunView, type FlowView, type TaskRunView } from "../../client/views/index.ts";
import { PrefectliteError } from "../../core/errors.ts";
import type { State } from "../../core/state.ts";
import { LocalResultStore } from "../../engine/result-store.ts";
import { connect } from "../../runtime/connect.ts";
import { settings } from "../../settings.ts";
import { EXIT } from "../exit.ts";
import { table } from "../output.ts";
import { duration, localDateTime } from "./time-format.ts";
import { writeStdout } from "../../stdio.ts";

export interface InspectOptions {
  what: string;
  id: string;
  apiUrl?: string;
  json: boolean;
}

/** Task runs shown in the table; --json gives them all. */
const TABLE_ROWS = 200;

const stateText = (s: State) => (s.message ? `${s.type}: ${s.message}` : s.type);

function stateRecord(s: State) {
  return { type: s.type, message: s.message, timestamp: s.timestamp ?? null };
}

function taskRunRecord(t: TaskRunView) {
  return {
    id: t.taskRunId,
    taskSlug: t.taskSlug,
    name: t.name,
    mapIndex: t.mapIndex,
    state: t.state.type,
    message: t.state.message,
    startTime: t.startTime,
    endTime: t.endTime,
    resultLocation: t.state.resultLocation?.location ?? null,
  };
}

function record(run: FlowRunView, flow: FlowView, taskRuns: TaskRunView[]) {
  return {
    id: run.flowRunId,
    name: run.name,
    flow: { id: flow.flowId, name: flow.name, version: flow.version, project: flow.projectName },
    state: stateRecord(run.state),
    labels: run.labels,
    parameters: run.parameters,
    context: run.context,
    runConfig: run.runConfig,
    scheduledStartTime: run.scheduledStartTime,
    startTime: run.startTime,
    endTime: run.endTime,
    states: run.states.map(stateRecord),
    taskRuns: taskRuns.map(taskRunRecord),
  };
}

function card(run: FlowRunView, flow: FlowView, taskRuns: TaskRunView[]): string {
  const lines = [
    `Flow run '${run.name}'`,
    `└── ID: ${run.flowRunId}`,
    `└── Flow: ${flow.name} (version ${flow.version}, project '${flow.projectName}', id ${flow.flowId})`,
    `└── State: ${stateText(run.state)}`,
    `└── Labels: ${JSON.stringify(run.labels)}`,
    `└── Parameters: ${JSON.stringify(run.parameters)}`,
    `└── Context: ${JSON.stringify(run.context)}`,
    `└── Scheduled: ${localDateTime(run.scheduledStartTime) || "-"}`,
    `└── Started: ${localDateTime(run.startTime) || "-"}`,
    `└── Ended: ${localDateTime(run.endTime) || "-"}`,
  ];
  const took = duration(run.startTime, run.endTime);
  if (took) lines.push(`└── Duration: ${took}`);
  lines.push("", "States:");
  const states = table(
    ["TIME", "STATE", "MESSAGE"],
    run.states.map((s) => [localDateTime(s.timestamp), s.type, s.message]),
  );
  const shown = taskRuns.slice(0, TABLE_ROWS);
  const tasks = table(
    ["TASK RUN", "MAP INDEX", "STATE", "DURATION", "RESULT"],
    shown.map((t) => [t.taskSlug, t.mapIndex < 0 ? "" : String(t.mapIndex), t.state.type, duration(t.startTime, t.endTime), t.state.resultLocation?.location ?? ""]),
  );
  const more = taskRuns.length > shown.length ? `… and ${taskRuns.length - shown.length} more task runs (--json lists them all)\n` : "";
  return `${lines.join("\n")}\n${indent(states)}\nTask runs:\n${taskRuns.length ? indent(tasks) : "  (none)\n"}${more}`;
}

const indent = (text: string) => text.replace(/^(?=.)/gm, "  ");

/**
 * `inspect flow-run ID`: the run card, its state history and a table of its task runs.
 * `inspect flow-file PATH` / `inspect module NAME`: the flows a file or module exports.
 */
export async function inspect(o: InspectOptions): Promise<number> {
  if (o.what === "flow-file" || o.what === "module") {
    const { inspectFlowSource } = await import("./inspect-flow-source.ts");
    return inspectFlowSource({ what: o.what, source: o.id, json: o.json });
  }
  if (o.what !== "flow-run") throw new PrefectliteError("Usage", `can only inspect a flow-run, a flow-file or a module (got '${o.what}')`);
  const client = connect({ apiUrl: o.apiUrl });
  try {
    const deps = { client, results: new LocalResultStore(settings.resultsDir()) };
    const run = await FlowRunView.fromFlowRunId(o.id, deps);
    const [flow, taskRuns] = await Promise.all([run.getFlowMetadata(), run.getAllTaskRuns()]);
    writeStdout(o.json ? `${JSON.stringify(record(run, flow, taskRuns), null, 2)}\n` : card(run, flow, taskRuns));
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
