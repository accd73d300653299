/**
 * `npm run build`: compile the CLI and SDK into the single executable `dist/prefectlite`.
 * The binary must not obey a stray bunfig.toml (its preload would run!) or .env in the user's
 * folder, hence the two --no-compile-autoload flags. `--outfile PATH` writes elsewhere (tests).
 */
import { join, resolve } from "node:path";

const root = join(import.meta.dir, "..");

/** The modules started as Worker threads, by their path below src/ (src/client/worker-module.ts). */
export const WORKER_ENTRY_POINTS = ["client/heartbeat-worker.ts", "runtime/heartbeat-worker.ts"];

export function buildCommand(outfile: string): string[] {
  return [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    "--format=esm",
    // Code splitting keeps lazily imported commands (the server, GraphQL) out of the start-up path.
    "--splitting",
    "--no-compile-autoload-bunfig",
    "--no-compile-autoload-dotenv",
    // graphql-js checks every `instanceof` a second way unless NODE_ENV is production (a few % of
    // a request). Inlined into the bundled code only: a user's flow files still see their own env.
    "--define",
    'process.env.NODE_ENV="production"',
    join(root, "src/main.ts"),
    // Worker modules, each an entry point of its own, found inside the binary under its path
    // below src/ (main.ts's folder, the entry points' common root).
    ...WORKER_ENTRY_POINTS.map((path) => join(root, "src", path)),
    "--outfile",
    outfile,
  ];
}

/** Build the binary at `outfile`; resolves to its path, rejects with bun's output on failure. */
export async function build(outfile = join(root, "dist/prefectlite")): Promise<string> {
  const proc = Bun.spawn(buildCommand(outfile), { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`bun build failed (exit ${code}):\n${out}${err}`);
  return outfile;
}

if (import.meta.main) {
  const i = process.argv.indexOf("--outfile");
  const outfile = i > 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]!) : join(root, "dist/prefectlite");
  try {
    const started = performance.now();
    await build(outfile);
    process.stdout.write(`Built ${outfile} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
