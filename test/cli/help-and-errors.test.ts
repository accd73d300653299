/** What --help and --version say, and the one-line errors for mistakes Prefect users make. */
import { describe, expect, test } from "bun:test";
import { runCli, tempDir } from "../helpers.ts";
import pkg from "../../package.json" with { type: "json" };

const COMMANDS = ["run", "cancel", "create", "register", "get", "inspect", "agent", "serve", "exec"];

describe("--help", () => {
  test("no flag of any command reads '(default: true)', and --no-x flags say what they turn off", async () => {
    for (const command of COMMANDS) {
      const { stdout, exitCode } = await runCli([command, "--help"]);
      expect(exitCode).toBe(0);
      expect(stdout).not.toContain("(default: true)");
    }
    const serve = await runCli(["serve", "--help"]);
    expect(serve.stdout).toMatch(/^ {2}--no-agent +Do not run the in-process agent .*\)$/m);
    const register = await runCli(["register", "--help"]);
    expect(register.stdout).toMatch(/^ {2}--no-schedule +Do not activate the flows' schedules$/m);
  });

  test("serve and exec list neither --api nor --json, and serve refuses them; commands that talk to a backend list --api", async () => {
    for (const command of ["serve", "exec"]) {
      const { stdout } = await runCli([command, "--help"]);
      expect(stdout).not.toContain("--api");
      expect(stdout).not.toContain("--json");
    }
    for (const command of ["run", "cancel", "create", "register", "get", "inspect", "agent"]) {
      expect((await runCli([command, "--help"])).stdout).toContain("--api <url>");
    }
    const refused = await runCli(["serve", "--api", "http://127.0.0.1:1"]);
    expect(refused.stderr).toBe("Error: Unknown option `--api`\n");
    expect(refused.exitCode).toBe(2);
  });

  test("--version names prefectlite's version and the Bun it runs on (not Node's compatibility version)", async () => {
    const { stdout, exitCode } = await runCli(["--version"]);
    expect(stdout).toBe(`prefectlite/${pkg.version} bun/${Bun.version} ${process.platform}-${process.arch}\n`);
    expect(exitCode).toBe(0);
  });
});

describe("one clear line for a mistake", () => {
  test("--runs-per-process 0 (agent start, serve) names the flag and the text", async () => {
    for (const command of [["agent", "start"], ["serve"]]) {
      const { stderr, exitCode } = await runCli([...command, "--runs-per-process", "0"]);
      expect(stderr).toBe("Error: --runs-per-process must be a whole number ≥ 1 (got '0')\n");
      expect(exitCode).toBe(2);
    }
  });

  test("agent start --concurrency abc names the flag and the text", async () => {
    const { stderr, exitCode } = await runCli(["agent", "start", "--concurrency", "abc"]);
    expect(stderr).toBe("Error: --concurrency must be a whole number ≥ 1 (got 'abc')\n");
    expect(exitCode).toBe(2);
  });

  test("-m prefect.hello_world hints at prefectlite.hello_world, in run and in register", async () => {
    const run = await runCli(["run", "-m", "prefect.hello_world"]);
    expect(run.stderr).toBe("Error: Module 'prefect.hello_world' could not be found (did you mean prefectlite.hello_world?)\n");
    expect(run.exitCode).toBe(2);
    const home = tempDir();
    await runCli(["create", "project", "p"], { home });
    const register = await runCli(["register", "-m", "prefect.hello_world", "--project", "p"], { home });
    expect(register.stdout).toContain("(did you mean prefectlite.hello_world?)\n");
  });
});
