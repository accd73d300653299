/**
 * The compiled executable: built once (`bun build --compile`, about a second), then run on a
 * user's flow file in a fresh folder with no node_modules, a hostile bunfig.toml and a .env.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build } from "../../scripts/build.ts";
import { normalizeClock, runCli, tempDir } from "../helpers.ts";

const USER_FLOW = `import { Flow, Parameter, task, context, LocalResult } from "prefectlite";
import * as sdk from "prefectlite";

const greet = task({ name: "greet", result: new LocalResult({ location: "greeting.json" }) }, (name: string) => {
  // context() only works if this file's "prefectlite" is the binary's own SDK instance.
  const ctx = context();
  ctx.logger.info(\`Hi \${name} from \${ctx.taskSlug} in \${ctx.flowName}\`);
  ctx.logger.info(\`dotenv: \${process.env.PREFECTLITE_TEST_DOTENV ?? "not loaded"}\`);
  return \`Hi \${name}\`;
});

const sum = task({ name: "sum" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
const double = task({ name: "double" }, async (x: number) => x * 2);
const report = task({ name: "report" }, (total: number) => context().logger.info(\`total=\${total}\`));

export const flow = new Flow("user-flow", () => {
  greet(Parameter("name", { default: "world" }));
  report(sum(double.map([1, 2, 3])));
});

if (typeof sdk.Flow !== "function" || !(flow instanceof sdk.Flow)) throw new Error("two SDK instances");
`;

let binary = "";
let userDir = "";

beforeAll(async () => {
  binary = await build(join(tempDir("prefectlite-bin-"), "prefectlite"));
  userDir = tempDir("prefectlite-user-");
  writeFileSync(join(userDir, "my_flow.ts"), USER_FLOW);
  // Neither may take effect: the binary is built with --no-compile-autoload-bunfig/-dotenv.
  writeFileSync(join(userDir, "preload.ts"), `require("node:fs").writeFileSync(${JSON.stringify(join(userDir, "PRELOAD_RAN"))}, "yes");\n`);
  writeFileSync(join(userDir, "bunfig.toml"), `preload = ["./preload.ts"]\n`);
  writeFileSync(join(userDir, ".env"), "PREFECTLITE_TEST_DOTENV=loaded\n");
}, 60_000);

afterAll(() => {
  // The binary is ~110 MB: do not leave one in the temp folder per test run.
  if (binary) rmSync(dirname(binary), { recursive: true, force: true });
  if (userDir) rmSync(userDir, { recursive: true, force: true });
});

describe("the compiled binary", () => {
  test("runs a user's flow file from a folder with no node_modules, its 'prefectlite' import being the binary's SDK", async () => {
    const home = tempDir();
    const { exitCode, stdout, stderr } = await runCli(["run", "-p", "my_flow.ts", "--param", "name=Ada"], {
      command: [binary],
      cwd: userDir,
      home,
    });
    expect(stderr).toBe("");
    expect(existsSync(join(userDir, "node_modules"))).toBe(false);
    const out = normalizeClock(stdout);
    expect(out).toStartWith("Retrieving local flow... Done\n");
    expect(out).toContain("└── HH:MM:SS | INFO    | Hi Ada from greet-1 in user-flow\n");
    expect(out).toContain("└── HH:MM:SS | INFO    | total=12\n");
    expect(out).toContain("Task 'double[2]': Finished task run for task with final state: 'Success'");
    expect(out).toEndWith("Flow run succeeded!\n");
    expect(exitCode).toBe(0);
    expect(await Bun.file(join(home, "results", "greeting.json")).json()).toEqual({ value: "Hi Ada" });
  });

  test("ignores a bunfig.toml preload and a .env in the user's folder", async () => {
    const { exitCode, stdout } = await runCli(["run", "-p", "my_flow.ts"], { command: [binary], cwd: userDir });
    expect(exitCode).toBe(0);
    expect(stdout).toContain("| dotenv: not loaded\n");
    expect(existsSync(join(userDir, "PRELOAD_RAN"))).toBe(false);
  });

  test("runs the built-in hello world and reports bad input in one line with exit 2", async () => {
    const hello = await runCli(["run", "-m", "prefectlite.hello_world"], { command: [binary], cwd: userDir });
    expect(hello.stdout).toContain("| INFO    | Hello World\n");
    expect(hello.exitCode).toBe(0);
    const missing = await runCli(["run", "-p", "nope.ts"], { command: [binary], cwd: userDir });
    expect(missing.stderr).toBe("Error: Path 'nope.ts' doesn't exist\n");
    expect(missing.exitCode).toBe(2);
  });
});
