import { relative } from "node:path";
import { PrefectliteError } from "../core/errors.ts";
import type { SerializedFlow } from "../core/serialize.ts";
import { settings } from "../settings.ts";
import { inspectFlowSourceCommand } from "../run-process/command.ts";

/** A flow file's (or module's) flows as its loading child reported them. */
export interface FlowSourceReport {
  source: string;
  flows: SerializedFlow[];
}

export interface LoadInChildOptions {
  /** Default PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS. */
  timeoutMs?: number;
  /** Kills the child (the caller is stopping); a string reason says why in the error ("was interrupted"). */
  signal?: AbortSignal;
}

/** A line longer than this (the report included) ends the child: no flow file needs that much. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** What is kept of the child's stderr to explain a failure. */
const STDERR_TAIL = 4096;

/**
 * Load a flow file or module in a child process (`prefectlite inspect flow-file PATH --json`)
 * and return the flows it reported, so that user code — which may exit, throw, loop or hang at
 * import — never runs in the caller's process. Any such ending is a FlowLoad error with one line
 * naming the file and what happened; a child that is not done within the time limit is killed.
 * The child shares the caller's process group: a Ctrl-C in the terminal ends it too.
 */
export async function loadFlowsInChild(source: { path: string } | { module: string }, options: LoadInChildOptions = {}): Promise<FlowSourceReport> {
  const shown = "path" in source ? shownPath(source.path) : source.module;
  if ("module" in source && source.module.startsWith("-")) throw new PrefectliteError("Validation", `Module '${source.module}' could not be found`);
  const timeoutMs = options.timeoutMs ?? settings.flowLoadTimeoutSeconds() * 1000;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "PREFECTLITE_API_TOKEN") env[k] = v;
  const child = Bun.spawn(inspectFlowSourceCommand(source), { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });

  let ended: string | undefined;
  const kill = (why: string) => {
    ended ??= why;
    try {
      child.kill("SIGKILL"); // a child in a synchronous loop would never act on SIGTERM
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => kill(`timed out after ${seconds(timeoutMs)} (PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS)`), timeoutMs);
  const onAbort = () => kill(typeof options.signal?.reason === "string" ? options.signal.reason : "was stopped");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const [lastLine, stderr, code] = await Promise.all([lastStdoutLine(child.stdout, () => kill("printed a line too long to read")), stderrTail(child.stderr), child.exited]);
    if (ended) throw loadError(shown, ended);
    if (code !== 0 || child.signalCode) {
      const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${code}`;
      const { line, isCliError } = lastErrorLine(stderr);
      // The CLI's error line already names the file ("Failed to load 'x.ts': …").
      if (isCliError) throw new PrefectliteError("FlowLoad", line);
      throw loadError(shown, `${how}${line ? `: ${line}` : ""}`);
    }
    const report = parseReport(lastLine);
    if (!report) throw loadError(shown, "exited with code 0 before reporting its flows (does it call process.exit at import?)");
    return report;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function loadError(shown: string, what: string): PrefectliteError {
  return new PrefectliteError("FlowLoad", `Loading '${shown}' ${what}`);
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

function parseReport(line: string | undefined): FlowSourceReport | undefined {
  if (!line) return undefined;
  try {
    const value = JSON.parse(line) as Partial<FlowSourceReport>;
    if (typeof value?.source === "string" && Array.isArray(value.flows)) return value as FlowSourceReport;
  } catch {
    // not the report: something the file printed
  }
  return undefined;
}

/** The last non-empty line of the stream; earlier lines (what the file printed) are dropped as they come. */
async function lastStdoutLine(stream: ReadableStream<Uint8Array>, tooLong: () => void): Promise<string | undefined> {
  const decoder = new TextDecoder();
  let last: string | undefined;
  let partial = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    partial += decoder.decode(value, { stream: true });
    const newline = partial.lastIndexOf("\n");
    if (newline >= 0) {
      const complete = partial.slice(0, newline).split("\n").filter((l) => l.trim() !== "");
      if (complete.length) last = complete.at(-1);
      partial = partial.slice(newline + 1);
    }
    if (partial.length > MAX_LINE_BYTES) {
      tooLong();
      partial = "";
    }
  }
  return partial.trim() ? partial : last;
}

async function stderrTail(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let tail = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return tail;
    tail = (tail + decoder.decode(value, { stream: true })).slice(-STDERR_TAIL);
  }
}

/** The CLI's `Error: …` line if the child printed one, else its last line of stderr. */
function lastErrorLine(stderr: string): { line: string; isCliError: boolean } {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const last = lines.at(-1) ?? "";
  const isCliError = last.startsWith("Error: ");
  return { line: (isCliError ? last.slice("Error: ".length) : last).slice(0, 500), isCliError };
}
