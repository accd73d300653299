import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir } from "../helpers.ts";

/** A folder with no node_modules (so "prefectlite" can only come from the CLI) holding these files. */
function scripts(files: Record<string, string>): string {
  const dir = tempDir("prefectlite-exec-");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("prefectlite exec SCRIPT [ARGS…]", () => {
  test("runs a script whose 'prefectlite' is the CLI's SDK, from a folder with no node_modules", async () => {
    const cwd = scripts({
      "probe.ts": `import { Flow, Parameter, task, FlowRunView, Client } from "prefectlite";
const double = task({ name: "double" }, (n: number) => n * 2);
const flow = new Flow("doubler", () => { double(Parameter("n", { default: 2 })); });
const state = await flow.run({ parameters: { n: 21 }, quiet: true });
console.log(state.type, typeof FlowRunView.fromFlowRunId, typeof Client);
`,
    });
    const { exitCode, stdout, stderr } = await runCli(["exec", "probe.ts"], { cwd });
    expect(stderr).toBe("");
    expect(stdout).toBe("Success function function\n");
    expect(exitCode).toBe(0);
    expect(existsSync(join(cwd, "node_modules"))).toBe(false);
  });

  test("passes every argument after the script through untouched, flags of the CLI's own included", async () => {
    const cwd = scripts({ "args.ts": `console.log(JSON.stringify({ argv: process.argv.slice(1), main: import.meta.main, bunMain: Bun.main }));\n` });
    const { exitCode, stdout, stderr } = await runCli(["exec", "args.ts", "a b", "--json", "--help", "-v", "--", "--api", "x"], { cwd });
    expect(stderr).toBe("");
    const script = join(cwd, "args.ts");
    expect(JSON.parse(stdout)).toEqual({ argv: [script, "a b", "--json", "--help", "-v", "--", "--api", "x"], main: true, bunMain: script });
    expect(exitCode).toBe(0);
  });

  test("leaves with the script's exit code, after the work the script left running is done", async () => {
    const cwd = scripts({
      "later.ts": `async function main() { await new Promise((r) => setTimeout(r, 20)); console.log("done later"); process.exitCode = 4; }\nmain();\n`,
      "exit.ts": `console.log("leaving"); process.exit(7);\n`,
    });
    const later = await runCli(["exec", "later.ts"], { cwd });
    expect(later.stdout).toBe("done later\n");
    expect(later.exitCode).toBe(4);
    const exit = await runCli(["exec", "exit.ts"], { cwd });
    expect(exit.stdout).toBe("leaving\n");
    expect(exit.exitCode).toBe(7);
  });

  test("a script that throws, or cannot be parsed or resolved, fails in one line naming where, exit 1", async () => {
    const cwd = scripts({
      "throws.ts": `const x = 1;\nthrow new TypeError("no such run: " + x);\n`,
      "broken.ts": `export const x = ;\n`,
      "missing-import.ts": `import "no-such-package-for-prefectlite";\n`,
    });
    const throws = await runCli(["exec", "throws.ts"], { cwd });
    expect(throws.stderr).toMatch(/^Error: TypeError: no such run: 1 \(at throws\.ts:2:\d+\)\n$/);
    expect(throws.exitCode).toBe(1);
    const broken = await runCli(["exec", "broken.ts"], { cwd });
    expect(broken.stderr).toMatch(/^Error: Failed to load 'broken\.ts': Unexpected ; \(broken\.ts:1:\d+\)\n$/);
    expect(broken.exitCode).toBe(1);
    const missing = await runCli(["exec", "missing-import.ts"], { cwd });
    expect(missing.stderr).toStartWith("Error: Failed to load 'missing-import.ts': Cannot find package 'no-such-package-for-prefectlite'");
    expect(missing.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(missing.exitCode).toBe(1);
  });

  test("a missing script, a folder, no script or options before it are usage errors: one line, exit 2", async () => {
    const cwd = scripts({ "ok.ts": "" });
    mkdirSync(join(cwd, "folder"));
    const cases: [string[], string][] = [
      [["exec", "nope.ts"], "Error: Script 'nope.ts' doesn't exist\n"],
      [["exec", "folder"], "Error: Script 'folder' is a folder, not a file\n"],
      [["exec"], "Error: missing required args for command `exec <script> [...args]`\n"],
      [["exec", "--json", "ok.ts"], "Error: write prefectlite exec SCRIPT [ARGS…]: the script comes first, its own options after it\n"],
    ];
    for (const [args, stderr] of cases) {
      const result = await runCli(args, { cwd });
      expect(result.stderr).toBe(stderr);
      expect(result.exitCode).toBe(2);
    }
  });

  test("--help lists exec with what it does", async () => {
    const { exitCode, stdout } = await runCli(["--help"]);
    expect(stdout).toMatch(/^ {2}exec <script> \[\.\.\.args\] +Run a script that imports "prefectlite" \(views, Client, flows\)/m);
    expect(exitCode).toBe(0);
  });
});
