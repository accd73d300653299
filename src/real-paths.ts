import { lstatSync, realpathSync } from "node:fs";

/**
 * The file system's facts about result paths (core/result-folder.ts's PathFacts). Folders'
 * real paths are remembered for a second: every result of a run lands in the same few folders,
 * and following each folder's links for each of 10,000 results cost more than writing them.
 */
const FOLDER_TTL_MS = 1000;
const MAX_FOLDERS = 256;
const folders = new Map<string, { real: string | undefined; at: number }>();

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

export const realPaths = {
  realFolder(path: string): string | undefined {
    const now = Date.now();
    const known = folders.get(path);
    if (known && now - known.at < FOLDER_TTL_MS) return known.real;
    const real = realpathOrUndefined(path);
    if (folders.size >= MAX_FOLDERS) folders.delete(folders.keys().next().value!);
    folders.set(path, { real, at: now });
    return real;
  },
  linkTarget(path: string): string | null | undefined {
    if (!lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) return undefined;
    return realpathOrUndefined(path) ?? null;
  },
};
