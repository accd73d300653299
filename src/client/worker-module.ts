/**
 * The URL of a Worker module, named by its path below src/ ("client/heartbeat-worker.ts"). From
 * source: that file. In the compiled binary every module is bundled into chunks at the root of
 * its file system, and each worker module is an entry point of its own that keeps its folder
 * (scripts/build.ts lists them): that entry point. So the URL is taken from the root, not from
 * the calling module, whose place differs between the two.
 */
export function workerModuleUrl(pathBelowSrc: string): string {
  // Bun's embedded file system: /$bunfs/root/ (B:/~BUN/root/ on Windows).
  const bundled = /\/\$bunfs\/|\/~BUN\//.test(import.meta.url);
  return new URL(pathBelowSrc, new URL(bundled ? "./" : "../", import.meta.url)).href;
}
