import { PrefectliteError } from "../../core/errors.ts";
import { LIST_FLOW_RUNS } from "../../client/documents.ts";
import { connect } from "../../runtime/connect.ts";
import { EXIT } from "../exit.ts";
import { table } from "../output.ts";
import { writeStdout } from "../../stdio.ts";

export interface GetOptions {
  what: string;
  apiUrl?: string;
  json: boolean;
  project?: string;
  flow?: string;
  state?: string;
  limit: number;
  all: boolean;
  /** task-runs, logs: the flow run. */
  flowRun?: string;
  /** logs: the lowest level shown. */
  level?: string;
  /** logs: keep printing new lines until the run finishes. */
  follow?: boolean;
}

interface FlowRunListRow {
  id: string;
  name: string;
  state: string | null;
  labels: string[];
  scheduled_start_time: string;
  start_time: string | null;
  end_time: string | null;
  flow: { name: string; version: number };
}

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "");

/** `get projects | flows | flow-runs | task-runs | logs`: a table, or the records as JSON with --json. */
export async function get(options: GetOptions): Promise<number> {
  const client = connect({ apiUrl: options.apiUrl });
  const print = (records: unknown[], headers: string[], rows: string[][]) => {
    writeStdout(options.json ? `${JSON.stringify(records, null, 2)}\n` : table(headers, rows));
  };
  try {
    switch (options.what) {
      case "projects": {
        const projects = await client.listProjects();
        print(projects, ["NAME", "DESCRIPTION", "CREATED", "ID"], projects.map((p) => [p.name, p.description ?? "", when(p.created), p.id]));
        return EXIT.ok;
      }
      case "flows": {
        const flows = await client.listFlows({ projectName: options.project, name: options.flow, all: options.all, limit: options.limit });
        print(
          flows,
          ["NAME", "VERSION", "PROJECT", "ARCHIVED", "ID"],
          flows.map((f) => [f.name, String(f.version), f.project.name, f.archived ? "yes" : "", f.id]),
        );
        return EXIT.ok;
      }
      case "flow-runs": {
        const where: Record<string, unknown> = {};
        if (options.flow) where.flow = { name: { _eq: options.flow } };
        if (options.project) where.flow = { ...(where.flow as object), project: { name: { _eq: options.project } } };
        if (options.state) where.state = { _eq: options.state };
        const data = await client.graphql<{ flow_run: FlowRunListRow[] }>(
          LIST_FLOW_RUNS,
          { where, limit: options.limit },
        );
        print(
          data.flow_run,
          ["NAME", "FLOW", "STATE", "SCHEDULED", "START", "END", "ID"],
          data.flow_run.map((r) => [r.name, `${r.flow.name} (v${r.flow.version})`, r.state ?? "", when(r.scheduled_start_time), when(r.start_time), when(r.end_time), r.id]),
        );
        return EXIT.ok;
      }
      case "task-runs": {
        const { getTaskRuns } = await import("./get-run-details.ts");
        writeStdout(await getTaskRuns(client, { flowRun: options.flowRun, state: options.state, limit: options.limit, json: options.json }));
        return EXIT.ok;
      }
      case "logs": {
        const { getLogs } = await import("./get-run-details.ts");
        const o = { flowRun: options.flowRun, level: options.level, follow: options.follow === true, json: options.json };
        await getLogs(client, o, (text) => writeStdout(text));
        return EXIT.ok;
      }
      default:
        throw new PrefectliteError("Usage", `get what? '${options.what}' is not one of: projects, flows, flow-runs, task-runs, logs`);
    }
  } finally {
    await client.close();
  }
}
