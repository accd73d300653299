import { parseDuration } from "../../core/duration.ts";
import { FLOW_BY_ID_OR_GROUP } from "../../client/documents.ts";
import { PrefectliteError } from "../../core/errors.ts";
import type { BackendClient } from "../../client/client.ts";
import { connect } from "../../runtime/connect.ts";
import { EXIT } from "../exit.ts";
import { typedParameters, type CliParameters } from "../options.ts";
import { step } from "../output.ts";
import { warnIfNoAgentCovers } from "./agent-coverage.ts";
import { writeStdout } from "../../stdio.ts";
import { isUuid } from "../../core/uuid.ts";

export interface BackendRunOptions {
  name?: string;
  id?: string;
  project?: string;
  parameters: CliParameters;
  labels?: string[];
  runName?: string;
  context?: Record<string, unknown>;
  idempotencyKey?: string;
  startAt?: string;
  startIn?: string;
  apiUrl?: string;
  json: boolean;
}

interface FlowRef {
  id: string;
  name: string;
  /** As registered: each `{ name, type? }` (flows registered before types have none). */
  parameters: Array<{ name: string; type?: string }> | null;
}


export interface CreatedRun {
  id: string;
  name: string;
  labels: string[];
  parameters: Record<string, unknown>;
  context: Record<string, unknown>;
}

/** `--id` is a flow id or a flow group id; `--name` the newest unarchived version (in `--project`). */
export async function lookupFlow(client: BackendClient, o: { id?: string; name?: string; project?: string }): Promise<FlowRef> {
  if (o.id) {
    if (!isUuid(o.id)) {
      throw new PrefectliteError("Usage", `--id '${o.id}' is not a flow id or flow group id: those are UUIDs, such as 55955649-f2e7-4d43-938a-f5b08974bab9 (or use --name FLOW)`);
    }
    const data = await client.graphql<{ flow: FlowRef[] }>(
      FLOW_BY_ID_OR_GROUP,
      { id: o.id },
    );
    const flow = data.flow[0];
    if (!flow) throw new PrefectliteError("NotFound", `Failed to find flow id or flow group id matching '${o.id}'`);
    return flow;
  }
  // The unarchived versions of that name, newest first within each project.
  const flows = await client.listFlows({ name: o.name, projectName: o.project });
  const projects = [...new Set(flows.map((f) => f.project.name))];
  if (projects.length === 0) {
    throw new PrefectliteError("NotFound", `No flow named '${o.name}'${o.project ? ` in project '${o.project}'` : ""}: register it first (prefectlite register)`);
  }
  if (projects.length > 1) {
    throw new PrefectliteError("Validation", `Flow '${o.name}' exists in several projects (${projects.join(", ")}): add --project`);
  }
  return flows[0]!;
}

export function scheduledStart(startAt?: string, startIn?: string, now = Date.now()): string | undefined {
  if (startAt && startIn) throw new PrefectliteError("Usage", "give either --start-at or --start-in, not both");
  if (startAt) {
    const t = Date.parse(startAt);
    if (Number.isNaN(t)) throw new PrefectliteError("Usage", `--start-at '${startAt}' is not an ISO date-time`);
    return new Date(t).toISOString();
  }
  if (startIn) return new Date(now + parseDuration(startIn, "--start-in")).toISOString();
  return undefined;
}

/** `prefectlite run --name FLOW | --id ID`: create a flow run in the backend and print its card. */
export async function runBackend(o: BackendRunOptions): Promise<number> {
  const client = connect({ apiUrl: o.apiUrl });
  try {
    const run = await createRunAndPrintCard(client, o);
    await warnIfNoAgentCovers(client, run.labels);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

/**
 * Look the flow up, create the run (with `extraLabels` added to the run's labels) and print its
 * card (or its JSON with --json). `--watch` and `--execute` go on from here.
 */
export async function createRunAndPrintCard(client: BackendClient, o: BackendRunOptions, extraLabels: string[] = []): Promise<CreatedRun> {
  const start = scheduledStart(o.startAt, o.startIn);
  const flow = await step("Looking up flow metadata...", () => lookupFlow(client, o));
  const run = await step(`Creating run for flow '${flow.name}'...`, async () => {
    const id = await client.createFlowRun({
      flowId: flow.id,
      parameters: typedParameters(o.parameters, flow.parameters ?? []),
      labels: extraLabels.length ? [...(o.labels ?? []), ...extraLabels] : o.labels,
      runName: o.runName,
      context: o.context,
      idempotencyKey: o.idempotencyKey,
      scheduledStartTime: start,
    });
    const created = (await (await client.backend()).readFlowRun(id))!;
    return { id: created.id, name: created.name, labels: created.labels ?? [], parameters: created.parameters ?? {}, context: created.context ?? {} };
  });
  const base = (await client.baseUrl()) ?? "http://127.0.0.1:4200";
  if (o.json) {
    writeStdout(`${JSON.stringify({ ...run, url: `${base}/flow-run/${run.id}` })}\n`);
  } else {
    writeStdout(
      [
        `└── Name: ${run.name}`,
        `└── UUID: ${run.id}`,
        `└── Labels: ${JSON.stringify(run.labels)}`,
        `└── Parameters: ${JSON.stringify(run.parameters)}`,
        `└── Context: ${JSON.stringify(run.context)}`,
        `└── URL: ${base}/flow-run/${run.id}`,
      ].join("\n") + "\n",
    );
  }
  return run;
}
