/**
 * The last load error of each flow file a watcher follows, by absolute path: written by serve's
 * watcher (its runtime), read by the UI's flow page, whose flow's storage names the file. Kept in
 * this process's memory: after a restart the watcher loads every file again and finds the error
 * anew. A file that loads again, or is deleted, has none.
 */
export interface FlowFileError {
  message: string;
  /** ISO time of the failed load. */
  at: string;
}

const errors = new Map<string, FlowFileError>();

export function recordFlowFileLoad(path: string, error: string | undefined, now: Date = new Date()): void {
  if (error === undefined) errors.delete(path);
  else errors.set(path, { message: error, at: now.toISOString() });
}

export function flowFileError(path: string): FlowFileError | undefined {
  return errors.get(path);
}
