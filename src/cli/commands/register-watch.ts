import { clockTime } from "../../engine/log-format.ts";
import type { BackendClient } from "../../client/client.ts";
import { loadFlowsInChild } from "../../backed/flow-source-child.ts";
import { watchAndRegister } from "../../watcher/watch-and-register.ts";
import { EXIT } from "../exit.ts";
import { writeStdout } from "../../stdio.ts";

export interface RegisterWatchOptions {
  client: BackendClient;
  project: string;
  /** `-p` paths: files, or folders (their top-level .ts files). Modules cannot be watched. */
  paths: string[];
  labels?: string[];
  /** `--archive-deleted`: archive the flows of a deleted file. */
  archiveDeleted?: boolean;
  /** `--no-schedule` passes false. */
  setScheduleActive?: boolean;
  /** Register the files first (default true); false when the register command already did. */
  initial?: boolean;
  debounceMs?: number;
  /** Where the lines go (default stdout). */
  write?: (text: string) => void;
}

const clock = () => clockTime(Date.now());

/**
 * `prefectlite register --watch`: keep the given flow files registered as they change, until
 * SIGINT or SIGTERM. Load errors are logged, not fatal. Returns the exit code.
 */
export async function runRegisterWatch(options: RegisterWatchOptions): Promise<number> {
  const write = options.write ?? ((text: string) => writeStdout(text));
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await watchAndRegister({
      client: options.client,
      project: options.project,
      labels: options.labels,
      archiveDeleted: options.archiveDeleted,
      setScheduleActive: options.setScheduleActive,
      paths: options.paths,
      initial: options.initial,
      debounceMs: options.debounceMs,
      signal: controller.signal,
      // In a child, within a time limit: a looping file cannot keep Ctrl-C from stopping the watch.
      loadFlowFile: (path) => loadFlowsInChild({ path }, { signal: controller.signal }),
      log: (line) => write(`└── ${clock()} | ${line}\n`),
      onReady: () => write(`Watching ${options.paths.map((p) => `'${p}'`).join(", ")} for changes (Ctrl+C to stop)...\n`),
    });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  write("Stopped watching.\n");
  return EXIT.ok;
}
