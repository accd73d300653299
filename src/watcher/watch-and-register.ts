import { createFlowFileRegistrar, type FlowFileRegistrarOptions } from "./reregister.ts";
import { watchFlowFiles } from "./watch.ts";

export interface WatchAndRegisterOptions extends FlowFileRegistrarOptions {
  /** Files and folders to watch (folders: their top-level .ts files). */
  paths: readonly string[];
  /** Quiet time per file before it is registered (default 100 ms). */
  debounceMs?: number;
  /** Register the flow files already there first (default true; unchanged ones log "unchanged"). */
  initial?: boolean;
  /** Stops watching; the returned promise then resolves. */
  signal: AbortSignal;
  /** Called once the watcher has scanned the paths (events after this are real edits). */
  onReady?: () => void;
}

/**
 * Watch flow files and keep their registrations current until `signal` aborts. Events are handled
 * one at a time, in order, so two quick saves never register concurrently.
 */
export async function watchAndRegister(options: WatchAndRegisterOptions): Promise<void> {
  const watcher = watchFlowFiles(options.paths, {
    debounceMs: options.debounceMs,
    signal: options.signal,
    initial: options.initial ?? true,
    onError: (m) => options.log(`error: ${m}`),
  });
  const registrar = createFlowFileRegistrar(options);
  void watcher.ready.then(() => options.onReady?.());
  try {
    for await (const event of watcher) await registrar.handle(event);
  } finally {
    await watcher.close();
  }
}
