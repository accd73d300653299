import { isAbsolute, resolve } from "node:path";
import { realPaths } from "../real-paths.ts";
import { validationError } from "../core/errors.ts";
import { configuredResultDir, isReallyInsideFolder, ownResultFolder, resultLocationPath } from "../core/result-folder.ts";
import type { ResultLocation } from "../core/state.ts";
import type { Store } from "../storage/store.ts";

/** Registered flows are immutable: their serialized form is read once per flow (bounded). */
const MAX_CACHED_FLOWS = 500;

/**
 * The check of a result location a state write carries (set_task_run_states,
 * set_flow_run_states): it must lie inside that result's own folder (core/result-folder.ts),
 * by its names and, where the folder is on this machine, once symbolic links are followed.
 * The backend cannot see a remote writer's disk, so for the default folder it requires a
 * `…/results` folder; readers then check against their own.
 */
export function createResultLocationCheck(store: Pick<Store, "flows">) {
  const flows = new Map<string, unknown>();
  async function serializedFlow(flowId: string): Promise<unknown> {
    if (flows.has(flowId)) return flows.get(flowId);
    const found = await store.flows.serializedFlow(flowId) ?? null;
    if (flows.size >= MAX_CACHED_FLOWS) flows.delete(flows.keys().next().value!);
    flows.set(flowId, found);
    return found;
  }

  return async function checkResultLocation(location: ResultLocation, flowId: string, taskSlug: string | undefined, field: string): Promise<void> {
    if (location.location.includes("\0") || (location.dir !== undefined && location.dir.includes("\0"))) {
      throw validationError(`${field}.result contains a NUL character`);
    }
    if (location.dir !== undefined && !isAbsolute(location.dir)) {
      throw validationError(`${field}.result.dir must be an absolute path, got '${location.dir}'`);
    }
    const configured = configuredResultDir(await serializedFlow(flowId), taskSlug);
    const folder = ownResultFolder(location, configured, undefined);
    if (location.dir !== undefined && await resolve(location.dir) !== folder) {
      throw validationError(
        `${field}.result.dir '${location.dir}' is not the result's folder (${configured ? `its LocalResult dir '${configured}'` : "a PREFECTLITE_HOME's results folder"})`,
      );
    }
    const path = resultLocationPath(location, folder);
    if (!isReallyInsideFolder(folder, path, FOLDERS_ONLY)) {
      throw validationError(`${field}.result.location '${location.location}' lies outside its result folder ${folder}`);
    }
  };
}

/**
 * The folders' links are followed here; a link at the location itself is refused where the file
 * is opened (LocalResultStore.read), which every reader goes through: one lstat less per state.
 */
const FOLDERS_ONLY = { realFolder: realPaths.realFolder, linkTarget: () => undefined };
