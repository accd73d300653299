import { watch, type FSWatcher } from "chokidar";
import { basename, resolve } from "node:path";
import { writeStderr } from "../stdio.ts";

/** What happened to a flow file, after debouncing (an editor's save may be several fs events). */
export interface FlowFileEvent {
  type: "added" | "changed" | "removed";
  /** Absolute path of the file. */
  path: string;
}

export interface WatchFlowFilesOptions {
  /** Quiet time per file before its event is emitted (default 100 ms). */
  debounceMs?: number;
  /** Stops watching; the iteration then ends. */
  signal?: AbortSignal;
  /** Emit "added" for the flow files already there when watching starts (default false). */
  initial?: boolean;
  /** chokidar errors (default: one line on stderr). */
  onError?: (message: string) => void;
}

/** Debounced flow-file events; iterate with `for await`. */
export interface FlowFileWatcher extends AsyncIterable<FlowFileEvent> {
  /** Resolves once the initial scan is done (events after it are real changes). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** A TypeScript flow file: `.ts`, but not a declaration (`.d.ts`) or a test (`.test.ts`). */
export function isFlowFile(path: string): boolean {
  const name = basename(path);
  return name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test.ts");
}

type Kind = FlowFileEvent["type"];

/** The net effect of the raw events one file saw within the debounce window, or null for none. */
export function netEvent(first: Kind, last: Kind): Kind | null {
  if (last === "removed") return first === "added" ? null : "removed";
  if (first === "removed") return "changed"; // deleted and written again: an atomic save
  return first === "added" ? "added" : "changed";
}

/**
 * Watch flow files: the given files, and the `.ts` files directly inside the given folders (the
 * files `register -p FOLDER` registers). Only detects and debounces; reacting is someone else's job.
 */
export function watchFlowFiles(paths: string | readonly string[], options: WatchFlowFilesOptions = {}): FlowFileWatcher {
  const debounceMs = options.debounceMs ?? 100;
  const onError = options.onError ?? ((m: string) => writeStderr(`${m}\n`));
  const queue: FlowFileEvent[] = [];
  const pending = new Map<string, { first: Kind; last: Kind; timer: ReturnType<typeof setTimeout> }>();
  let waiter: (() => void) | undefined;
  let closed = false;

  const wakeReader = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };

  const watcher: FSWatcher = watch([paths].flat().map((p) => resolve(p)), {
    ignoreInitial: !options.initial,
    depth: 0,
    ignored: (p: string) => basename(p) === "node_modules" || (basename(p).startsWith(".") && basename(p).length > 1),
  });

  function record(kind: Kind, rawPath: string): void {
    const path = resolve(rawPath);
    if (closed || !isFlowFile(path)) return;
    const entry = pending.get(path);
    if (entry) clearTimeout(entry.timer);
    const first = entry?.first ?? kind;
    const timer = setTimeout(() => {
      pending.delete(path);
      const type = netEvent(first, kind);
      if (type && !closed) {
        queue.push({ type, path });
        wakeReader();
      }
    }, debounceMs);
    pending.set(path, { first, last: kind, timer });
  }

  watcher.on("add", (p) => record("added", p));
  watcher.on("change", (p) => record("changed", p));
  watcher.on("unlink", (p) => record("removed", p));
  watcher.on("error", (e) => onError(`watcher: ${e instanceof Error ? e.message : String(e)}`));

  const ready = new Promise<void>((resolveReady) => watcher.once("ready", () => resolveReady()));

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    for (const { timer } of pending.values()) clearTimeout(timer);
    pending.clear();
    options.signal?.removeEventListener("abort", onAbort);
    wakeReader();
    await watcher.close();
  }
  const onAbort = () => void close();
  if (options.signal?.aborted) void close();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    ready,
    close,
    async *[Symbol.asyncIterator]() {
      while (true) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (closed) return;
        await new Promise<void>((r) => (waiter = r));
      }
    },
  };
}
