import { dirname, isAbsolute, normalize, relative, resolve, sep } from "node:path";
import type { ResultLocation } from "./state.ts";

/**
 * A result's own folder: the `dir` of the LocalResult its task (else its flow) is configured
 * with, or the default `$PREFECTLITE_HOME/results`. A result location is only ever written to,
 * accepted by the backend from, and read from a path inside that folder, so a location stored
 * through the API cannot point a reader at `/etc/passwd` or `../../x`.
 *
 * An absolute configured dir is the folder. A relative one (and the default, which is
 * "results" under some PREFECTLITE_HOME) was resolved by the process that wrote the result, in
 * its own working directory or home: the folder a location records as its `dir` is taken
 * when it ends with that relative path, else the relative path resolved here.
 */

/** The dir configured for task `taskSlug` of a registered flow (its task's result, else the flow's), or null. */
export function configuredResultDir(serializedFlow: unknown, taskSlug: string | undefined): string | null {
  const flow = serializedFlow as { tasks?: unknown; result?: unknown } | null | undefined;
  const dirOf = (result: unknown) => {
    const dir = (result as { dir?: unknown } | null | undefined)?.dir;
    return typeof dir === "string" && dir !== "" ? dir : null;
  };
  if (taskSlug !== undefined && Array.isArray(flow?.tasks)) {
    const task = flow.tasks.find((t) => (t as { slug?: unknown } | null)?.slug === taskSlug) as { result?: unknown } | undefined;
    const own = dirOf(task?.result);
    if (own) return own;
  }
  return dirOf(flow?.result);
}

/**
 * The folder a location must lie inside. `configuredDir` as above; `defaultDir` is the default
 * folder of the caller (a reader's own results folder), or undefined where any home's
 * `…/results` may have written it (the backend, which cannot see its writers' disks).
 */
export function ownResultFolder(location: Pick<ResultLocation, "dir">, configuredDir: string | null | undefined, defaultDir: string | undefined): string {
  if (configuredDir && isAbsolute(configuredDir)) return resolve(configuredDir);
  if (!configuredDir && defaultDir !== undefined) return resolve(defaultDir);
  const tail = trailingSegments(configuredDir || "results");
  const recorded = typeof location.dir === "string" && isAbsolute(location.dir) ? resolve(location.dir) : undefined;
  if (recorded && tail && (recorded === tail || recorded.endsWith(sep + tail))) return recorded;
  return resolve(configuredDir || defaultDir || "results");
}

/** The absolute path of a location (a relative one is relative to `folder`). */
export function resultLocationPath(location: Pick<ResultLocation, "location">, folder: string): string {
  return isAbsolute(location.location) ? resolve(location.location) : resolve(folder, location.location);
}

/** Whether `path` lies strictly inside `folder` (both absolute), by their names. */
export function isInsideFolder(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== "" && !isAbsolute(rel) && rel.split(sep)[0] !== "..";
}

/** "a/b" of "../a/b/" (the part of a relative path that names folders, not parents). */
function trailingSegments(relativeDir: string): string {
  return normalize(relativeDir)
    .split(sep)
    .filter((s) => s !== "" && s !== "." && s !== "..")
    .join(sep);
}

/** What the file system says of paths (src/real-paths.ts; injected: core does no I/O). */
export interface PathFacts {
  /** The real path of a folder, links followed (it may be remembered briefly); undefined when it does not exist. */
  realFolder(path: string): string | undefined;
  /** For a symbolic link, the real path it leads to (null when it leads nowhere); undefined for anything else. */
  linkTarget(path: string): string | null | undefined;
}

/**
 * Whether `path` is inside `folder` once symbolic links are followed: the nearest folder of
 * `path` that exists must really be `folder` or inside it, and `path` itself, if it is a link,
 * must lead inside it. A folder that does not exist holds nothing yet: the check by names is
 * all there is.
 */
export function isReallyInsideFolder(folder: string, path: string, facts: PathFacts): boolean {
  if (!isInsideFolder(folder, path)) return false;
  const realFolder = facts.realFolder(folder);
  if (realFolder === undefined) return true;
  let dir = dirname(path);
  let realDir = facts.realFolder(dir);
  while (realDir === undefined && dir !== folder && dirname(dir) !== dir) {
    dir = dirname(dir);
    realDir = facts.realFolder(dir);
  }
  if (realDir === undefined || (realDir !== realFolder && !isInsideFolder(realFolder, realDir))) return false;
  const target = facts.linkTarget(path);
  return target === undefined || (target !== null && isInsideFolder(realFolder, target));
}
