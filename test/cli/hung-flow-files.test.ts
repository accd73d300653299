/**
 * Flow files that loop or hang: `run -p` and `register -p` stop on Ctrl-C, and `run --execute`
 * kills a child hung at import once the run has been failed from outside.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCli, until } from "../e2e/process-helpers.ts";
import { tempDir } from "../helpers.ts";
import { registeredFlow, runs } from "./execute-helpers.ts";

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A flow file that writes its process id to $PID_FILE and then loops forever where `where` says. */
function loopingFlow(where: "import" | "task"): string {
  const loop = `require("node:fs").writeFileSync(process.env.PID_FILE, String(process.pid)); while (true) {}`;
  return `import { Flow, task } from "prefectlite";
${where === "import" ? loop : ""}
const spin = task({ name: "spin" }, () => { ${where === "task" ? loop : ""} });
export const flow = new Flow("spinner", () => { spin(); });
`;
}

describe("Ctrl-C on a looping flow file", () => {
  test("run -p stops on SIGINT while a task loops synchronously", async () => {
    const dir = tempDir("prefectlite-loop-");
    const path = join(dir, "spin.ts");
    const pidFile = join(dir, "pid");
    writeFileSync(path, loopingFlow("task"));
    const cli = startCli(["run", "-p", path], { PREFECTLITE_HOME: tempDir("prefectlite-home-"), PID_FILE: pidFile });
    await until(() => existsSync(pidFile), "the task to start looping");
    expect(cli.output()).toContain("Running flow locally...");
    cli.proc.kill("SIGINT");
    await cli.proc.exited;
    expect(cli.proc.signalCode ?? cli.proc.exitCode).toBeOneOf(["SIGINT", 130]);
  });

  test("register -p stops on SIGINT while the file loops at import, and its loading process goes too", async () => {
    const dir = tempDir("prefectlite-loop-");
    const path = join(dir, "spin.ts");
    const pidFile = join(dir, "pid");
    writeFileSync(path, loopingFlow("import"));
    const home = tempDir("prefectlite-home-");
    await startCli(["create", "project", "default"], { PREFECTLITE_HOME: home }).proc.exited;
    const again = startCli(["register", "-p", path, "--project", "default"], { PREFECTLITE_HOME: home, PID_FILE: pidFile });
    await until(() => existsSync(pidFile), "the file to start looping");
    const loader = Number(readFileSync(pidFile, "utf8"));
    again.proc.kill("SIGINT");
    expect(await again.proc.exited).toBe(130);
    expect(again.output()).toContain("Interrupted.");
    await until(() => !isAlive(loader), "the loading child to be gone");
  });

  test("register -p reports a file that exits at import, or loops past the time limit, as one error line each", async () => {
    const dir = tempDir("prefectlite-bad-");
    writeFileSync(join(dir, "exits.ts"), `process.exit(0);\n`);
    writeFileSync(join(dir, "spins.ts"), `while (true) {}\n`);
    const home = tempDir("prefectlite-home-");
    await startCli(["create", "project", "default"], { PREFECTLITE_HOME: home }).proc.exited;
    const cli = startCli(["register", "-p", dir, "--project", "default"], { PREFECTLITE_HOME: home, PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS: "2" });
    expect(await cli.proc.exited).toBe(1);
    const out = cli.output();
    expect(out).toContain(`  Error loading flows: Loading '${join(dir, "exits.ts")}' exited with code 0 before reporting its flows`);
    expect(out).toContain(`  Error loading flows: Loading '${join(dir, "spins.ts")}' timed out after 2 s (PREFECTLITE_FLOW_LOAD_TIMEOUT_SECONDS)`);
    expect(out).toContain("0 registered, 2 errored");
  });
});

describe("run --execute with a child hung at import", () => {
  test("once the run is failed from outside, the child is killed and run --execute ends (exit 1)", async () => {
    const dir = tempDir("prefectlite-hang-");
    const pidFile = join(dir, "pid");
    // Loads fine for registration; hangs when a run's process imports it.
    const fx = await registeredFlow(`import { Flow, task } from "prefectlite";
if (process.argv.includes("execute")) {
  require("node:fs").writeFileSync(process.env.PID_FILE, String(process.pid));
  await new Promise(() => setInterval(() => {}, 1000));
}
const hello = task({ name: "hello" }, () => "hi");
export const flow = new Flow("hung", () => { hello(); });
`);
    const cli = startCli(["run", "--name", "hung", "--execute"], { PREFECTLITE_HOME: fx.home, PID_FILE: pidFile, PREFECTLITE_AGENT_POLL_SECONDS: "0.2" });
    await until(() => existsSync(pidFile), "the run's process to hang at import");
    const child = Number(readFileSync(pidFile, "utf8"));
    const client = fx.client();
    const [run] = await runs(client);
    const { flow_run_by_pk } = await client.graphql<{ flow_run_by_pk: { version: number } }>(`query ($id: uuid!) { flow_run_by_pk(id: $id) { version } }`, { id: run!.id });
    await client.setFlowRunState(run!.id, flow_run_by_pk.version, { type: "Failed", message: "given up on by the safeguards" });
    expect(await cli.proc.exited).toBe(1);
    expect(cli.output()).toContain(`| ERROR   | The flow run is Failed, but its process (PID ${child}) was still alive 5 s later: killed it\n`);
    expect(cli.output()).toEndWith("Flow run failed!\n");
    await until(() => !isAlive(child), "the hung child to be gone");
    await client.close();
  });
});
