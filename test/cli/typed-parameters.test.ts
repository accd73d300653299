/** `--param` and `--params` against typed parameters, in local runs and backend runs. */
import { describe, expect, test } from "bun:test";
import { fixture, runCli, tempDir } from "../helpers.ts";

describe("run -p with typed parameters", () => {
  test("--param n=abc for a number parameter is refused with one line, exit 2, and nothing runs", async () => {
    const { exitCode, stdout, stderr } = await runCli(["run", "-p", fixture("typed-params.ts"), "--param", "n=abc"]);
    expect(stderr).toBe(`Error: parameter 'n' must be a number (got "abc")\n`);
    expect(stdout).not.toContain("Flow run succeeded!");
    expect(exitCode).toBe(2);
  });

  test("--params with a value of the wrong type is refused the same way", async () => {
    const { exitCode, stderr } = await runCli(["run", "-p", fixture("typed-params.ts"), "--params", '{"size": 1.5}']);
    expect(stderr).toBe("Error: parameter 'size' must be an integer (got 1.5)\n");
    expect(exitCode).toBe(2);
  });

  test("a string parameter keeps the text as typed (name=5 is \"5\"); a number parameter reads it as JSON", async () => {
    const { exitCode, stdout } = await runCli(["run", "-p", fixture("typed-params.ts"), "--param", "name=5", "--param", "n=2.5", "--param", "size=3"]);
    expect(stdout).toContain('| n=2.5 name="5" size=3\n');
    expect(exitCode).toBe(0);
  });
});

describe("run --name with typed parameters", () => {
  test("the backend run takes the types of the registered flow", async () => {
    const home = tempDir();
    await runCli(["create", "project", "p"], { home });
    const registered = await runCli(["register", "-p", fixture("typed-params.ts"), "--project", "p"], { home });
    expect(registered.exitCode).toBe(0);
    const refused = await runCli(["run", "--name", "typed-params", "--param", "n=abc"], { home });
    expect(refused.stderr).toBe(`Error: parameter 'n' must be a number (got "abc")\n`);
    expect(refused.exitCode).toBe(2);
    const created = await runCli(["run", "--name", "typed-params", "--param", "name=5", "--json"], { home });
    expect(JSON.parse(created.stdout.trim().split("\n").at(-1)!).parameters).toEqual({ n: 5, name: "5" });
  });

  test("--id that is not a UUID says what an id is, in one line, exit 2", async () => {
    const { exitCode, stderr } = await runCli(["run", "--id", "not-a-uuid"]);
    expect(stderr).toMatch(/^Error: --id 'not-a-uuid' is not a flow id or flow group id: those are UUIDs/);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(exitCode).toBe(2);
  });
});
