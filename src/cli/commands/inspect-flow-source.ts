import { serializeFlow } from "../../core/serialize.ts";
import { loadFlowsFromFile, loadFlowsFromModule } from "../../loader/load.ts";
import { EXIT } from "../exit.ts";
import { table } from "../output.ts";
import { writeStdout } from "../../stdio.ts";

export interface InspectFlowSourceOptions {
  /** "flow-file" (a path) or "module" (a module name). */
  what: "flow-file" | "module";
  source: string;
  json: boolean;
}

/**
 * `inspect flow-file PATH` / `inspect module NAME`: load the file and list the flows it exports.
 * With `--json`, one line `{"source": …, "flows": [serialized flow, …]}` — what serve's watcher
 * and `register` read from this command run as a child, so that user code never runs in their
 * own process. The line is the last thing printed: whatever the file printed at import comes first.
 */
export async function inspectFlowSource(o: InspectFlowSourceOptions): Promise<number> {
  const loaded = o.what === "flow-file" ? await loadFlowsFromFile(o.source) : await loadFlowsFromModule(o.source);
  const flows = loaded.flows.map(serializeFlow);
  if (o.json) {
    writeStdout(`\n${JSON.stringify({ source: loaded.source, flows })}\n`);
    return EXIT.ok;
  }
  if (!flows.length) {
    writeStdout(`No flows found in ${loaded.source}\n`);
    return EXIT.ok;
  }
  const rows = flows.map((f) => [f.name, String(f.tasks.filter((t) => t.kind === "task").length), String(f.parameters.length), f.schedule ? "yes" : "no"]);
  writeStdout(table(["FLOW", "TASKS", "PARAMETERS", "SCHEDULE"], rows));
  return EXIT.ok;
}
