import { openBackend, type Backend } from "../../src/runtime/backend.ts";
import { REPO_ROOT } from "../helpers.ts";
import { sqlOn, type SqlRunner } from "../storage-helpers.ts";
import { join } from "node:path";
import type { Subprocess } from "bun";

/**
 * Short safeguard intervals (SPEC §6) so faults are recovered within seconds. Lazarus waits 3 s:
 * longer than a flow-run process takes to start on a busy machine (it would rightly reschedule
 * a run whose process has not started by then).
 */
export const FAST_SAFEGUARDS = {
  PREFECTLITE_HEARTBEAT_SECONDS: "0.2",
  PREFECTLITE_ZOMBIE_MISSED_HEARTBEATS: "2",
  PREFECTLITE_LAZARUS_AFTER_SECONDS: "3",
  PREFECTLITE_LOOP_SECONDS: "0.2",
  PREFECTLITE_AGENT_POLL_SECONDS: "0.2",
};

/** The environment of a prefectlite process in a test: ours without PREFECTLITE_*, plus `extra`. */
export function cliEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
  return { ...env, NO_COLOR: "1", ...extra };
}

export interface CliProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first printed line matching `pattern`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then wait for it to end. */
  stop(): Promise<number>;
}

/** A process's stdout and stderr collected into one text as they come; the function returns it so far. */
export function collectOutput(proc: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> }): () => string {
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  return () => text;
}

/** The URL a starting `serve` prints ("listening on http://…"), once it has printed it. */
export async function listeningUrl(output: () => string): Promise<string> {
  const pattern = /listening on (http:\/\/\S+)/;
  await until(() => pattern.test(output()), `serve to listen (printed so far:\n${output()})`);
  return output().match(pattern)![1]!;
}

/** Start `prefectlite ARGS…` (bun src/main.ts) as a long-running process. */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = collectOutput(proc);
  return {
    proc,
    output,
    async waitFor(pattern, ms = 20_000) {
      await until(() => pattern.test(output()), `${args.join(" ")} to print ${pattern} (printed so far:\n${output()})`, ms);
      return output().match(pattern)!;
    },
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

/** Wait until `check` holds (polling every 20 ms); fails after `ms`. Never a timing assertion. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A backend of this test's own on the database the processes share, and SQL on a connection of its own. */
export interface HomeBackend extends Backend {
  sql: SqlRunner;
}

export async function openHome(home: string): Promise<HomeBackend> {
  const url = `sqlite:${join(home, "prefectlite.db")}`;
  const backend = await openBackend(url);
  const raw = sqlOn(url);
  return {
    ...backend,
    sql: raw.sql,
    async close() {
      raw.close();
      await backend.close();
    },
  };
}

/** The first row of one SQL statement (`$name` parameters), null when there is none. */
export const one = async <T>(b: HomeBackend, sql: string, params: Record<string, unknown> = {}): Promise<T> =>
  ((await b.sql<T>(sql, params))[0] ?? null) as T;
export const all = <T>(b: HomeBackend, sql: string, params: Record<string, unknown> = {}): Promise<T[]> => b.sql<T>(sql, params);
