/**
 * Shared test helpers: a temporary PREFECTLITE_HOME, a reporter that records what a run did,
 * the real CLI as a child process, and small promise tools. Nothing here sleeps.
 */
import { afterEach, beforeEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PrefectliteError } from "../src/core/errors.ts";
import type { Flow } from "../src/core/flow.ts";
import type { LogRecord } from "../src/core/logging.ts";
import type { State, StateType } from "../src/core/state.ts";
import { runFlow, type FlowRunState, type RunFlowOptions } from "../src/engine/flow-runner.ts";
import { taskRunKeyString, type RunReporter } from "../src/engine/ports.ts";

export const REPO_ROOT = resolve(import.meta.dir, "..");

/** Folders tempDir made (a run of the suite makes ~1,500): removed after all tests (test/cleanup.ts). */
const madeDirs: string[] = [];

/** Remove every folder tempDir made so far. */
export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // still in use by something that outlived the tests: left for the system's cleanup
    }
  }
}

/** A fresh empty folder under the system temp dir, removed after all tests. */
export function tempDir(prefix = "prefectlite-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/**
 * Give every test of the calling file its own PREFECTLITE_HOME (set in process.env, removed
 * afterwards). Returns a getter for the current home.
 */
export function useTempHome(): () => string {
  let home = "";
  let previous: string | undefined;
  beforeEach(() => {
    previous = process.env.PREFECTLITE_HOME;
    home = tempDir("prefectlite-home-");
    process.env.PREFECTLITE_HOME = home;
  });
  afterEach(() => {
    if (previous === undefined) delete process.env.PREFECTLITE_HOME;
    else process.env.PREFECTLITE_HOME = previous;
    rmSync(home, { recursive: true, force: true });
  });
  return () => home;
}

/** A reporter that keeps everything: flow states, each task run's state sequence, log records. */
export class RecordingReporter implements RunReporter {
  readonly flowStates: State[] = [];
  readonly taskStates = new Map<string, State[]>();
  readonly logs: LogRecord[] = [];

  setFlowRunState(state: State): void {
    this.flowStates.push(state);
  }
  setTaskRunState(key: { slug: string; mapIndex: number }, state: State): void {
    const k = taskRunKeyString(key.slug, key.mapIndex);
    const list = this.taskStates.get(k) ?? [];
    list.push(state);
    this.taskStates.set(k, list);
  }
  log(record: LogRecord): void {
    this.logs.push(record);
  }

  /** The state types a task run went through, e.g. ["Running", "Retrying", "Running", "Success"]. */
  typesOf(key: string): StateType[] {
    return (this.taskStates.get(key) ?? []).map((s) => s.type);
  }
  messages(): string[] {
    return this.logs.map((r) => r.message);
  }
}

/** Run a flow in-process with a recording reporter and results under `resultsDir` (default a temp dir). */
export async function runRecorded(
  flow: Flow,
  options: Omit<RunFlowOptions, "reporter"> = {},
): Promise<{ state: FlowRunState; reporter: RecordingReporter }> {
  const reporter = new RecordingReporter();
  const state = await runFlow(flow, { resultsDir: options.resultsDir ?? tempDir(), ...options, reporter });
  return { state, reporter };
}

/** The final state type of each task run, keyed "slug" / "slug[i]". */
export function finalTypes(state: FlowRunState): Record<string, StateType> {
  return Object.fromEntries([...state.taskStates].map(([k, s]) => [k, s.type]));
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the real CLI (`bun src/main.ts …`, or `command` such as a compiled binary) as a child
 * process with its own PREFECTLITE_HOME. `cwd` defaults to the repository.
 */
export async function runCli(
  args: string[],
  options: { home?: string; cwd?: string; env?: Record<string, string>; command?: string[] } = {},
): Promise<CliResult> {
  const command = options.command ?? [process.execPath, join(REPO_ROOT, "src/main.ts")];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
  }
  Object.assign(env, { PREFECTLITE_HOME: options.home ?? tempDir("prefectlite-home-"), NO_COLOR: "1" }, options.env);
  const proc = Bun.spawn([...command, ...args], { cwd: options.cwd ?? REPO_ROOT, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout, stderr };
}

/** A fixture flow file's path. */
export const fixture = (name: string) => join(REPO_ROOT, "test/fixtures/flows", name);

/** Log lines of the CLI with the time replaced by HH:MM:SS, so they can be compared exactly. */
export function normalizeClock(text: string): string {
  return text.replace(/\b\d{2}:\d{2}:\d{2} \|/g, "HH:MM:SS |");
}

/** The PrefectliteError a promise rejects with; fails the test if it resolves or rejects otherwise. */
export async function errorOf(p: Promise<unknown>): Promise<PrefectliteError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PrefectliteError) return e;
    throw e;
  }
  throw new Error("expected the call to fail with a PrefectliteError");
}
