/**
 * prefectlite as users get it: `npm pack`, then `npm install ./prefectlite-x.tgz` into an empty
 * folder, where flow and view scripts run on the Bun the package brings, tsc finds the types
 * and `npx prefectlite` works with Node alone; and `prefectlite exec` in the compiled binary,
 * in a folder with no node_modules. npm reaches the registry only for what its cache lacks.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "../../scripts/build.ts";
import { REPO_ROOT, tempDir } from "../helpers.ts";

const NPM = Bun.which("npm");
const NODE = Bun.which("node");
const NPM_MISSING = !NPM || !NODE;
if (NPM_MISSING) console.warn("test/e2e/package.test.ts: npm (or node) is not installed: the package tests are skipped");

/** A flow file that registers itself when run as a script (`bun flow.ts`, `prefectlite exec flow.ts`). */
const FLOW = `import { Client, Flow, Parameter, task } from "prefectlite";

const double = task({ name: "double" }, (n: number) => n * 2);
export const flow = new Flow("doubler", () => {
  double(Parameter("n", { default: 21 }));
});

if (import.meta.main) {
  const client = new Client();
  await client.createProject("demo");
  await client.close();
  console.log(\`flow \${await flow.register("demo")}\`);
}
`;

/** Reads a run back: view.ts RUN_ID [EXIT_CODE]. */
const VIEW = `import { FlowRunView } from "prefectlite";

const run = await FlowRunView.fromFlowRunId(process.argv[2]!);
const double = await run.getTaskRun({ taskSlug: "double-1" });
console.log(\`\${run.flowRunId}: \${run.state.type}; double = \${await double.getResult()}; n = \${run.parameters.n}\`);
process.exitCode = Number(process.argv[3] ?? 0);
`;

/** The consumer tsconfig the README documents. */
const TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "esnext", moduleResolution: "bundler", types: ["bun"], strict: true, skipLibCheck: true, noEmit: true },
  include: ["*.ts"],
};

/** Wrong uses of the SDK that the declarations must reject (line 3, 5 and 7). */
const BAD = `import { Flow, FlowRunView } from "prefectlite";
const run = await FlowRunView.fromFlowRunId("x");
const n: number = run.name;
const f = new Flow("a", () => {});
const s: string = f;
import { flow as hello } from "prefectlite/hello_world";
const h: number = hello;
`;

/** Our environment for npm and the installed package: no PREFECTLITE_*, none of an outer npm's lifecycle variables. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig"]);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("PREFECTLITE_") || (k.toLowerCase().startsWith("npm_") && !keep.has(k.toLowerCase()))) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: "1", npm_config_update_notifier: "false", ...extra };
}

async function run(command: string[], options: { cwd: string; env?: Record<string, string> }) {
  const proc = Bun.spawn(command, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

async function mustRun(command: string[], options: { cwd: string; env?: Record<string, string> }): Promise<string> {
  const result = await run(command, options);
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} failed (exit ${result.exitCode}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** The compiled binary, built once (and started early: it can build while npm works). */
let binaryBuild: Promise<string> | undefined;
const binary = () => (binaryBuild ??= build(join(tempDir("prefectlite-bin-"), "prefectlite")));

const cleanup: string[] = [];
afterAll(async () => {
  const built = await binaryBuild?.catch(() => undefined);
  // The binary is ~110 MB: do not leave one in the temp folder per test run.
  if (built) rmSync(dirname(built), { recursive: true, force: true });
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(NPM_MISSING)("the npm package, installed into an empty folder", () => {
  let work = "";
  let consumer = "";
  let packed: { filename: string; files: { path: string }[] };
  /** A PATH with node, npm, npx and sh, and no bun. */
  let nodeOnlyPath = "";

  beforeAll(async () => {
    void binary().catch(() => {}); // its own test reports a failure
    work = tempDir("prefectlite-pkg-");
    cleanup.push(work);
    const out = await mustRun([NPM!, "pack", "--json", "--loglevel=error", "--pack-destination", work], { cwd: REPO_ROOT });
    packed = (JSON.parse(out) as (typeof packed)[])[0]!;
    consumer = join(work, "consumer");
    mkdirSync(consumer);
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    await mustRun([NPM!, "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(work, packed.filename)], { cwd: consumer });
    writeFileSync(join(consumer, "flow.ts"), FLOW);
    writeFileSync(join(consumer, "view.ts"), VIEW);
    const bin = join(work, "node-only-bin");
    mkdirSync(bin);
    for (const tool of ["node", "npm", "npx", "sh"]) symlinkSync(Bun.which(tool)!, join(bin, tool));
    nodeOnlyPath = bin;
  }, 120_000);

  test("the tarball holds the launcher, the sources, the declarations and the README, and nothing else", () => {
    const paths = packed.files.map((f) => f.path);
    for (const path of paths) expect(path).toMatch(/^(bin\/|src\/|dist\/types\/)|^(package\.json|README\.md)$/);
    for (const needed of ["bin/prefectlite.js", "bin/bunfig.toml", "src/main.ts", "src/index.ts", "dist/types/index.d.ts", "dist/types/hello-world.d.ts"]) {
      expect(paths).toContain(needed);
    }
    const installed = JSON.parse(readFileSync(join(consumer, "node_modules/prefectlite/package.json"), "utf8"));
    expect(installed.private).toBeUndefined();
    expect(installed.dependencies.bun).toBeDefined();
    expect(installed.bin).toEqual({ prefectlite: "bin/prefectlite.js" });
  });

  test("a flow file registers with `bun flow.ts`, `npx prefectlite run --execute` runs it, a view script reads it back", async () => {
    const env = cleanEnv({ PATH: nodeOnlyPath, PREFECTLITE_HOME: join(work, "home") });
    const bun = join(consumer, "node_modules/.bin/bun"); // the Bun the package brought
    expect(await mustRun([bun, "flow.ts"], { cwd: consumer, env })).toMatch(/^flow [0-9a-f-]{36}\n$/);

    const executed = await mustRun(["npx", "prefectlite", "run", "--name", "doubler", "--project", "demo", "--param", "n=4", "--execute"], { cwd: consumer, env });
    expect(executed).toEndWith("Flow run succeeded!\n");
    const id = executed.match(/└── UUID: ([0-9a-f-]{36})/)![1]!;

    expect(await mustRun([bun, "view.ts", id], { cwd: consumer, env })).toBe(`${id}: Success; double = 8; n = 4\n`);
    expect(await mustRun(["npx", "prefectlite", "exec", "view.ts", id], { cwd: consumer, env })).toBe(`${id}: Success; double = 8; n = 4\n`);
  }, 60_000);

  test("tsc --noEmit type-checks scripts against the package's declarations, and rejects wrong uses", async () => {
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify(TSCONFIG));
    writeFileSync(join(consumer, "bad.ts"), BAD);
    const { stdout, exitCode } = await run([join(REPO_ROOT, "node_modules/.bin/tsc"), "--noEmit", "-p", "."], { cwd: consumer });
    rmSync(join(consumer, "bad.ts"));
    expect(stdout.trimEnd().split("\n")).toEqual([
      "bad.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
      "bad.ts(5,7): error TS2322: Type 'Flow' is not assignable to type 'string'.",
      "bad.ts(7,7): error TS2322: Type 'Flow' is not assignable to type 'number'.",
    ]);
    expect(exitCode).toBe(2);
  }, 60_000);

  test("npx prefectlite --help runs where the PATH has Node but no Bun", async () => {
    expect(Bun.which("bun", { PATH: nodeOnlyPath })).toBeNull();
    const { stdout, stderr, exitCode } = await run(["npx", "prefectlite", "--help"], { cwd: consumer, env: cleanEnv({ PATH: nodeOnlyPath }) });
    expect(stderr).toBe("");
    expect(stdout).toContain("Usage:\n  $ prefectlite <command> [options]\n");
    expect(stdout).toMatch(/^ {2}exec <script> \[\.\.\.args\] +Run a script/m);
    expect(exitCode).toBe(0);
  });

  test("the launcher passes signals on to Bun and leaves as Bun did", async () => {
    writeFileSync(join(consumer, "wait.ts"), `process.on("SIGINT", () => { console.log("got SIGINT"); process.exit(3); });\nconsole.log("ready");\nsetInterval(() => {}, 1000);\n`);
    writeFileSync(join(consumer, "hang.ts"), `console.log("ready");\nsetInterval(() => {}, 1000);\n`);
    const start = (script: string) =>
      Bun.spawn([NODE!, join(consumer, "node_modules/.bin/prefectlite"), "exec", script], { cwd: consumer, env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const readyThen = async (proc: ReturnType<typeof start>, signal: NodeJS.Signals) => {
      const reader = proc.stdout.getReader();
      let seen = "";
      while (!seen.includes("ready\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      proc.kill(signal);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      await proc.exited;
      return seen;
    };
    const interrupted = start("wait.ts");
    expect(await readyThen(interrupted, "SIGINT")).toBe("ready\ngot SIGINT\n");
    expect(interrupted.exitCode).toBe(3);
    const terminated = start("hang.ts");
    await readyThen(terminated, "SIGTERM");
    expect(terminated.signalCode).toBe("SIGTERM");
  }, 30_000);
});

describe.skipIf(!NODE)("the launcher without Bun's executable", () => {
  test("says in one line what is missing and how to fix it", async () => {
    const root = tempDir("prefectlite-launcher-");
    cleanup.push(root);
    const pkg = join(root, "node_modules/prefectlite");
    mkdirSync(join(pkg, "bin"), { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "prefectlite", type: "module" }));
    copyFileSync(join(REPO_ROOT, "bin/prefectlite.js"), join(pkg, "bin/prefectlite.js"));

    const noBun = await run([NODE!, join(pkg, "bin/prefectlite.js"), "--help"], { cwd: root });
    expect(noBun.stderr).toBe("Error: prefectlite cannot find its `bun` dependency: reinstall prefectlite (npm install prefectlite)\n");
    expect(noBun.exitCode).toBe(1);

    // `bun` installed, but its postinstall never ran and no platform build came with it.
    mkdirSync(join(root, "node_modules/bun/bin"), { recursive: true });
    writeFileSync(join(root, "node_modules/bun/package.json"), JSON.stringify({ name: "bun", version: "1.4.5" }));
    writeFileSync(join(root, "node_modules/bun/bin/bun.exe"), `echo "Error: Bun's postinstall script was not run." >&2\nexit 1\n`, { mode: 0o755 });
    const placeholder = await run([NODE!, join(pkg, "bin/prefectlite.js"), "--help"], { cwd: root });
    expect(placeholder.stderr).toStartWith(`Error: prefectlite cannot find a Bun executable for ${process.platform}-${process.arch} (@oven/bun-`);
    expect(placeholder.stderr).toEndWith("reinstall prefectlite without --omit=optional/--no-optional, or run `node install.js` in node_modules/bun\n");
    expect(placeholder.exitCode).toBe(1);
    expect(existsSync(join(root, "node_modules/@oven"))).toBe(false);
  });
});

describe("prefectlite exec in the compiled binary", () => {
  test("runs the user's scripts from a folder with no node_modules: register, then read a run back, args and exit code passed through", async () => {
    const prefectlite = await binary();
    const cwd = tempDir("prefectlite-exec-bin-");
    cleanup.push(cwd);
    writeFileSync(join(cwd, "flow.ts"), FLOW);
    writeFileSync(join(cwd, "view.ts"), VIEW);
    const env = cleanEnv({ PREFECTLITE_HOME: join(cwd, ".home") });

    expect(await mustRun([prefectlite, "exec", "flow.ts"], { cwd, env })).toMatch(/^flow [0-9a-f-]{36}\n$/);
    const executed = await mustRun([prefectlite, "run", "--name", "doubler", "--project", "demo", "--param", "n=5", "--execute"], { cwd, env });
    const id = executed.match(/└── UUID: ([0-9a-f-]{36})/)![1]!;

    const viewed = await run([prefectlite, "exec", "view.ts", id, "3"], { cwd, env });
    expect(viewed.stderr).toBe("");
    expect(viewed.stdout).toBe(`${id}: Success; double = 10; n = 5\n`);
    expect(viewed.exitCode).toBe(3);
    expect(existsSync(join(cwd, "node_modules"))).toBe(false);
  }, 90_000);
});
