import { PrefectliteError, errorMessage } from "../../core/errors.ts";
import type { SerializedFlow } from "../../core/serialize.ts";
import type { BackendClient } from "../../client/client.ts";
import { registerSerializedFlow } from "../../client/register.ts";
import { loadFlowsInChild, type FlowSourceReport } from "../../backed/flow-source-child.ts";
import { connect } from "../../runtime/connect.ts";
import { expandFlowFiles } from "../../runtime/flow-files.ts";
import { EXIT } from "../exit.ts";
import { prefectModuleHint } from "../module-hint.ts";
import { writeStdout } from "../../stdio.ts";

export interface RegisterOptions {
  paths: string[];
  modules: string[];
  project: string;
  names: string[];
  labels: string[];
  force: boolean;
  schedule: boolean;
  watch: boolean;
  archiveDeleted: boolean;
  apiUrl?: string;
  json: boolean;
}

/** What a Ctrl-C during loading exits with (128 + SIGINT), as a shell reports an interrupted command. */
const INTERRUPTED_EXIT = 130;

/** `=== 1 registered, 1 skipped ===` with bars as wide as Prefect's. */
export function summaryLine(counts: { registered: number; skipped: number; errored: number }): string {
  const parts = [`${counts.registered} registered`];
  if (counts.skipped) parts.push(`${counts.skipped} skipped`);
  if (counts.errored) parts.push(`${counts.errored} errored`);
  const text = parts.join(", ");
  const bar = "=".repeat(Math.floor(Math.max(60 - text.length, 4) / 2));
  return `${bar} ${text} ${bar}`;
}

export async function register(options: RegisterOptions): Promise<number> {
  if (!options.paths.length && !options.modules.length) {
    throw new PrefectliteError("Usage", "register needs at least one -p PATH or -m MODULE");
  }
  if (options.watch && options.modules.length) {
    throw new PrefectliteError("Usage", "register --watch follows files: use -p PATH (modules cannot be watched)");
  }
  const files = expandFlowFiles(options.paths);
  const client = connect({ apiUrl: options.apiUrl });
  try {
    await client.requireProject(options.project);
    writeStdout("Collecting flows...\n");
    // Each source is loaded by a child process, within PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS: a
    // file that exits, loops or hangs at import is an error line, and Ctrl-C always stops us.
    const interrupt = new AbortController();
    const onSigint = () => interrupt.abort("was interrupted");
    const load = (source: { path: string } | { module: string }) => loadFlowsInChild(source, { signal: interrupt.signal });
    const sources: Array<{ label: string; hint: string; load: () => Promise<FlowSourceReport> }> = [
      ...files.map((f) => ({ label: f, hint: "", load: () => load({ path: f }) })),
      ...options.modules.map((m) => ({ label: m, hint: prefectModuleHint(m), load: () => load({ module: m }) })),
    ];
    const counts = { registered: 0, skipped: 0, errored: 0 };
    const wanted = new Set(options.names);
    const found = new Set<string>();
    const records: unknown[] = [];
    for (const source of sources) {
      writeStdout(`Processing '${source.label}':\n`);
      let flows: SerializedFlow[];
      process.once("SIGINT", onSigint);
      try {
        flows = (await source.load()).flows;
      } catch (e) {
        if (interrupt.signal.aborted) {
          writeStdout("Interrupted.\n");
          return INTERRUPTED_EXIT;
        }
        writeStdout(`  Error loading flows: ${errorMessage(e)}${source.hint}\n`);
        counts.errored++;
        continue;
      } finally {
        process.off("SIGINT", onSigint);
      }
      const storage = flows.find((f) => !wanted.size || wanted.has(f.name))?.storage;
      if (storage) writeStdout(`  Building \`${storage.type}\` storage...\n`);
      for (const flow of flows) {
        if (wanted.size && !wanted.has(flow.name)) continue;
        found.add(flow.name);
        await registerOne(client, flow, options, counts, records);
      }
    }
    const missing = [...wanted].filter((n) => !found.has(n));
    if (missing.length) {
      writeStdout(`Failed to find the following flows:\n${missing.map((n) => `  - ${n}\n`).join("")}`);
      return EXIT.usage;
    }
    writeStdout(`${summaryLine(counts)}\n`);
    if (options.json) writeStdout(`${JSON.stringify(records)}\n`);
    if (options.watch) {
      const { runRegisterWatch } = await import("./register-watch.ts");
      return runRegisterWatch({
        client,
        project: options.project,
        paths: options.paths,
        labels: options.labels,
        archiveDeleted: options.archiveDeleted,
        setScheduleActive: options.schedule,
        initial: false,
      });
    }
    return counts.errored ? EXIT.runFailed : EXIT.ok;
  } finally {
    await client.close();
  }
}

async function registerOne(
  client: BackendClient,
  flow: SerializedFlow,
  options: RegisterOptions,
  counts: { registered: number; skipped: number; errored: number },
  records: unknown[],
): Promise<void> {
  writeStdout(`  Registering '${flow.name}'...`);
  try {
    const outcome = await registerSerializedFlow(client, flow, options.project, {
      labels: options.labels,
      force: options.force,
      setScheduleActive: options.schedule,
    });
    records.push({ name: flow.name, ...outcome });
    if (outcome.status === "skipped") {
      writeStdout(" Skipped (metadata unchanged)\n");
      counts.skipped++;
      return;
    }
    writeStdout(` Done\n  └── ID: ${outcome.id}\n  └── Version: ${outcome.version}\n`);
    if (outcome.scheduleLeftOff) writeStdout(`  └── Schedule left off: ${outcome.scheduleLeftOff}\n`);
    counts.registered++;
  } catch (e) {
    if (e instanceof PrefectliteError && e.code === "Unavailable") throw e;
    writeStdout(` Error\n  └── ${errorMessage(e)}\n`);
    counts.errored++;
  }
}
