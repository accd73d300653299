import { relative } from "node:path";
import { errorMessage } from "../core/errors.ts";
import type { BackendClient } from "../client/client.ts";
import { registerSerializedFlow } from "../client/register.ts";
import type { SerializedFlow } from "../core/serialize.ts";
import type { FlowFileEvent } from "./watch.ts";

/**
 * Loads one flow file and returns its flows, serialized. Wired to a child process
 * (`prefectlite inspect flow-file PATH --json`, src/backed/flow-source-child.ts): a file that
 * exits, loops or hangs at import must not take the watching process with it. Rejects with an
 * error whose message is one line naming the file.
 */
export type FlowFileLoader = (path: string) => Promise<{ flows: SerializedFlow[] }>;

export interface FlowFileRegistrarOptions {
  client: BackendClient;
  /** The project flows are registered in (it must exist). */
  project: string;
  /** One line per thing that happened (no trailing newline). */
  log: (line: string) => void;
  /** Labels added to every registered flow's run config (`register --label`). */
  labels?: string[];
  /** Archive the flows a deleted file had registered (default false: they stay registered). */
  archiveDeleted?: boolean;
  /** Activate registered flows' schedules (default true; `--no-schedule` passes false). */
  setScheduleActive?: boolean;
  loadFlowFile: FlowFileLoader;
  /** Told how each load of a file went: its one-line error, or undefined once it loads again (or is deleted). */
  onLoadOutcome?: (path: string, error: string | undefined) => void;
}

export interface FlowFileRegistrar {
  /** React to one watcher event; never throws (failures are logged). */
  handle(event: FlowFileEvent): Promise<void>;
}

/**
 * What `serve --watch` and `register --watch` do with flow-file events: a new or changed file is
 * loaded afresh and each of its flows registered by serialized hash (an edit that does not change
 * a flow registers nothing); a file that fails to load is one error line and the registered
 * version stays live; a deleted file archives nothing unless `archiveDeleted`.
 */
export function createFlowFileRegistrar(options: FlowFileRegistrarOptions): FlowFileRegistrar {
  const { client, project, log } = options;
  /** Flow names each file registered, so a deleted file's flows can be found. */
  const namesByFile = new Map<string, string[]>();
  const shown = (path: string) => {
    const rel = relative(process.cwd(), path);
    return rel && !rel.startsWith("..") ? rel : path;
  };

  async function archive(names: readonly string[], why: string): Promise<void> {
    for (const name of names) {
      try {
        const latest = await client.latestFlow(name, project);
        if (!latest || latest.archived) continue;
        await (await client.backend()).archiveFlow(latest.id);
        log(`Archived '${name}' (version ${latest.version}): ${why}`);
      } catch (e) {
        log(`error: could not archive '${name}': ${errorMessage(e)}`);
      }
    }
  }

  async function registerFile(path: string): Promise<void> {
    let flows: SerializedFlow[];
    try {
      flows = (await options.loadFlowFile(path)).flows;
    } catch (e) {
      // The message names the file ("Failed to load 'x.ts': Unexpected = (line 4, column 21)").
      const error = errorMessage(e).split("\n")[0]!;
      log(`error: ${error} (any version registered before stays live)`);
      options.onLoadOutcome?.(path, error);
      return;
    }
    options.onLoadOutcome?.(path, undefined);
    if (!flows.length) log(`${shown(path)}: no flows found`);
    const previous = namesByFile.get(path) ?? [];
    namesByFile.set(path, flows.map((f) => f.name));
    for (const flow of flows) {
      try {
        const outcome = await registerSerializedFlow(client, flow, project, {
          labels: options.labels,
          setScheduleActive: options.setScheduleActive,
        });
        if (outcome.status === "skipped") log(`'${flow.name}' from ${shown(path)}: unchanged (version ${outcome.version})`);
        else log(`Registered '${flow.name}' from ${shown(path)}: version ${outcome.version} (${outcome.id})`);
        if (outcome.scheduleLeftOff) log(`'${flow.name}' from ${shown(path)}: schedule left off: ${outcome.scheduleLeftOff}`);
      } catch (e) {
        log(`error: could not register '${flow.name}' from ${shown(path)}: ${errorMessage(e)}`);
      }
    }
    const gone = previous.filter((name) => !flows.some((f) => f.name === name));
    if (gone.length && options.archiveDeleted) await archive(gone, `no longer in ${shown(path)}`);
  }

  async function fileRemoved(path: string): Promise<void> {
    options.onLoadOutcome?.(path, undefined);
    const names = namesByFile.get(path) ?? [];
    namesByFile.delete(path);
    if (!options.archiveDeleted) {
      const which = names.length ? ` (${names.map((n) => `'${n}'`).join(", ")})` : "";
      log(`${shown(path)} was deleted: its flows${which} stay registered (--archive-deleted archives them)`);
      return;
    }
    if (!names.length) log(`${shown(path)} was deleted: no flows registered from it in this session`);
    await archive(names, `${shown(path)} was deleted`);
  }

  return {
    async handle(event) {
      try {
        if (event.type === "removed") await fileRemoved(event.path);
        else await registerFile(event.path);
      } catch (e) {
        log(`error: ${shown(event.path)}: ${errorMessage(e)}`);
      }
    },
  };
}
