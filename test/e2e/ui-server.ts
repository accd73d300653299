/**
 * `prefectlite serve` as a user starts it (the real CLI in its own process, with its own
 * PREFECTLITE_HOME), for the UI's browser tests and the screenshots script.
 */
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, tempDir } from "../helpers.ts";

export interface ServeProcess {
  url: string;
  home: string;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** The flow files the UI is shown with: hello world, map-reduce, an hourly schedule and a slow flow. */
export const UI_FLOW_FILES = [
  join(REPO_ROOT, "flows/hello_world.ts"),
  join(REPO_ROOT, "flows/map_reduce.ts"),
  join(REPO_ROOT, "test/ui/flows/hourly.ts"),
  join(REPO_ROOT, "test/ui/flows/slow.ts"),
];

export async function startServe(options: { token?: string; files?: string[] } = {}): Promise<ServeProcess> {
  const home = tempDir("prefectlite-ui-e2e-");
  const flows = join(home, "flows");
  mkdirSync(flows);
  for (const file of options.files ?? UI_FLOW_FILES) cpSync(file, join(flows, file.split("/").at(-1)!));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("PREFECTLITE_")) env[k] = v;
  Object.assign(env, { PREFECTLITE_HOME: home, NO_COLOR: "1" }, options.token ? { PREFECTLITE_API_TOKEN: options.token } : {});
  const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "src/main.ts"), "serve", "--port", "0", "--watch", flows, "--project", "default"], {
    cwd: home,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(home, { recursive: true, force: true });
  };
  // Ready: listening, and the watched folder registered.
  const deadline = Date.now() + 40_000;
  while (!/Watching '/.test(text)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prefectlite serve did not start:\n${text}`);
    }
    await Bun.sleep(50);
  }
  const url = /listening on (http:\/\/\S+)/.exec(text)![1]!;
  return { url, home, output: () => text, stop };
}
