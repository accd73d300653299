import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const MAIN = join(ROOT, "src/main.ts");

export interface ServeProcess {
  url: string;
  stop(): Promise<void>;
}

/**
 * `prefectlite serve --port 0 --no-scheduler --no-agent` on `home`, once it listens: the given
 * executable (the shipped binary), else from source.
 */
export async function startApiServer(home: string, executable?: string): Promise<ServeProcess> {
  const command = executable ? [executable] : [process.execPath, MAIN];
  const proc = Bun.spawn([...command, "serve", "--port", "0", "--no-scheduler", "--no-agent"], {
    cwd: ROOT,
    env: { ...process.env, PREFECTLITE_HOME: home } as Record<string, string>,
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let out = "";
  while (!/listening on (http:\/\/\S+)/.test(out)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited before listening: ${out}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    url: /listening on (http:\/\/\S+)/.exec(out)![1]!,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
