/** `execute flow-run …` read without cac (cli/execute-argv.ts) reads as cac reads it, or not at all. */
import { describe, expect, test } from "bun:test";
import { EXECUTE_BOOLEAN_FLAGS, EXECUTE_VALUE_FLAGS, executeFlowRunOptions, quickExecuteArgv, type ExecuteArgv } from "../../src/cli/execute-argv.ts";
import { program } from "../../src/cli/main.ts";
import { executeFlowRunCommand, warmFlowRunCommand } from "../../src/run-process/command.ts";
import { runCli } from "../helpers.ts";

const ID = "55955649-f2e7-4d43-938a-f5b08974bab9";
const argvOf = (...args: string[]) => ["bun", "main.ts", ...args];

/** What the cac program gives the execute command's action for `argv`. */
function readByCac(argv: string[]): ExecuteArgv {
  const cli = program(() => {}, "execute");
  cli.parse(argv, { run: false });
  expect(cli.matchedCommandName).toBe("execute");
  return { what: String(cli.args[0]), id: cli.args[1] === undefined ? "" : String(cli.args[1]), options: cli.options };
}

/** The options executeFlowRun gets, or the error message it would be refused with. */
function outcome(read: ExecuteArgv): unknown {
  try {
    return executeFlowRunOptions(read);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The child's argv as process.argv shows it (Bun's own flags are not in it). */
function childArgv(command: string[]): string[] {
  return argvOf(...command.slice(command.indexOf("execute")));
}

describe("the quick reading of execute flow-run", () => {
  test("knows exactly the flags the execute command defines", () => {
    const execute = program(() => {}, "execute").commands[0]!;
    const defined = execute.options.map((o) => o.rawName.split(" ")[0]!).sort();
    expect([...Object.keys(EXECUTE_BOOLEAN_FLAGS), ...Object.keys(EXECUTE_VALUE_FLAGS)].sort()).toEqual(defined);
    for (const option of execute.options) {
      const flag = option.rawName.split(" ")[0]!;
      expect(option.isBoolean === true).toBe(flag in EXECUTE_BOOLEAN_FLAGS);
      expect(EXECUTE_BOOLEAN_FLAGS[flag] ?? EXECUTE_VALUE_FLAGS[flag]).toBe(option.name);
    }
  });

  test("takes the command lines agents and run --execute start, and reads them as cac does", () => {
    const started = [executeFlowRunCommand(ID), executeFlowRunCommand(ID, { printLogs: true }), warmFlowRunCommand()!].map(childArgv);
    for (const argv of started) {
      const quick = quickExecuteArgv(argv);
      expect(quick).toBeDefined();
      expect(outcome(quick!)).toEqual(outcome(readByCac(argv)));
    }
    expect(outcome(quickExecuteArgv(started[1]!)!)).toEqual({ id: ID, waitForId: false, apiUrl: undefined, printLogs: true, logLevel: undefined });
    expect(outcome(quickExecuteArgv(started[2]!)!)).toEqual({ id: "", waitForId: true, apiUrl: undefined, printLogs: false, logLevel: undefined });
    expect(outcome(quickExecuteArgv(argvOf("execute", "flow-run", ID, "--wait-for-id"))!)).toEqual({ error: "give either a flow run id or --wait-for-id, not both" });
  });

  test("whatever it takes, cac reads the same way (options, and the refusals of the action)", () => {
    const taken = [
      [ID],
      [ID, "--print-logs"],
      ["--print-logs", "--log-level", "DEBUG", ID],
      [ID, "--log-level=warning", "--api", "http://127.0.0.1:4200"],
      ["--api=http://127.0.0.1:4200/x=y", ID, "--print-logs"],
      ["--wait-for-id"],
      ["--wait-for-id", "--print-logs", "--log-level", "INFO"],
      [ID, "--wait-for-id"],
      [],
      ["--log-level", "LOUD", ID],
      [ID, "--api", "localhost:4200"],
    ];
    for (const args of taken) {
      const argv = argvOf("execute", "flow-run", ...args);
      const quick = quickExecuteArgv(argv);
      expect({ args, quick: quick !== undefined }).toEqual({ args, quick: true });
      expect(outcome(quick!)).toEqual(outcome(readByCac(argv)));
    }
  });

  test("leaves every other form to cac", () => {
    const left = [
      ["execute", "flow-run", "--print-logs", ID], // cac reads ID as the flag's value
      ["execute", "flow-run", ID, "--log-level", "10"], // cac reads a number
      ["execute", "flow-run", ID, "--api", "1e3"],
      ["execute", "flow-run", ID, "--print-logs", "--print-logs"],
      ["execute", "flow-run", ID, "--log-level", "INFO", "--log-level", "DEBUG"],
      ["execute", "flow-run", ID, "--log-level"],
      ["execute", "flow-run", ID, "--log-level="],
      ["execute", "flow-run", ID, "--log-level", "--print-logs"],
      ["execute", "flow-run", ID, "--print-logs=true"],
      ["execute", "flow-run", ID, "--no-print-logs"],
      ["execute", "flow-run", ID, "--printLogs"],
      ["execute", "flow-run", ID, "--json"],
      ["execute", "flow-run", ID, "--help"],
      ["execute", "flow-run", ID, "-h"],
      ["execute", "flow-run", ID, "--version"],
      ["execute", "flow-run", ID, "--"],
      ["execute", "flow-run", ID, ID],
      ["execute", "task-run", ID],
      ["execute", "--print-logs", "flow-run", ID],
      ["run", "flow-run", ID],
    ];
    for (const args of left) expect(quickExecuteArgv(argvOf(...args))).toBeUndefined();
  });

  test("errors stay the CLI's: a bad flag, a missing id, a bad level", async () => {
    expect(await runCli(["execute", "flow-run", ID, "--bogus"])).toMatchObject({ exitCode: 2, stderr: "Error: Unknown option `--bogus`\n" });
    expect(await runCli(["execute", "flow-run"])).toMatchObject({ exitCode: 2, stderr: "Error: execute flow-run needs a flow run id\n" });
    expect(await runCli(["execute", "flow-run", ID, "--log-level", "LOUD"])).toMatchObject({
      exitCode: 2,
      stderr: "Error: --log-level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'LOUD')\n",
    });
  });
});
