import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { normalizeClock } from "../helpers.ts";
import { registeredFlow, runs } from "./execute-helpers.ts";

const HELLO = `
import { Flow, Parameter, task, context } from "prefectlite";
const greet = task({ name: "greet" }, (name: string) => context().logger.info(process.env.GREETING + " " + name));
const square = task({ name: "square" }, (x: number) => x * x);
export const flow = new Flow("greeter", () => {
  greet(Parameter("name", { default: "marvin" }));
  square.map([1, 2]);
}, { runConfig: { env: { GREETING: "Howdy" } } });
`;

const FAILING = `
import { Flow, task } from "prefectlite";
const explode = task({ name: "explode" }, (): number => { throw new Error("exploded on purpose"); });
export const flow = new Flow("failing", () => explode());
`;

const KILLED = `
import { Flow, task } from "prefectlite";
const fine = task({ name: "fine" }, () => 1);
const die = task({ name: "die" }, (x: number) => { process.kill(process.pid, "SIGKILL"); return x; });
export const flow = new Flow("killed", () => die(fine()));
`;

describe("prefectlite run --execute", () => {
  test("creates an agentless run, executes it in a child with the run config's env, streams its logs, exit 0", async () => {
    const fx = await registeredFlow(HELLO);
    const { exitCode, stdout, stderr } = await fx.cli(["run", "--name", "greeter", "--execute"]);
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
    const out = normalizeClock(stdout);
    expect(out).toStartWith("Looking up flow metadata... Done\nCreating run for flow 'greeter'... Done\n└── Name: ");
    expect(out).toMatch(/└── Labels: \["agentless-run-[0-9a-f]{8}"\]\n/);
    expect(out).toContain("└── URL: ");
    expect(out).toContain(
      "\nExecuting flow run...\n└── HH:MM:SS | INFO    | Creating subprocess to execute flow run...\n└── HH:MM:SS | INFO    | Beginning Flow run for 'greeter'\n└── HH:MM:SS | INFO    | Entered state <Running>: Running flow.\n",
    );
    expect(out).toContain("└── HH:MM:SS | INFO    | Howdy marvin\n");
    expect(out).toContain("└── HH:MM:SS | INFO    | Task 'square[1]': Finished task run for task with final state: 'Success'\n");
    expect(out).toEndWith("└── HH:MM:SS | INFO    | Entered state <Success>: All reference tasks succeeded.\nFlow run succeeded!\n");

    const client = fx.client();
    const [run] = await runs(client);
    await client.close();
    expect(run!.state).toBe("Success");
    expect(run!.labels).toHaveLength(1);
    expect(run!.task_runs.map((t) => t.state)).toEqual(["Success", "Success", "Mapped", "Success", "Success"]);
    expect(run!.logs.map((l) => l.message)).toContain("Howdy marvin");
  }, 30_000);

  test("a failing flow: Flow run failed!, exit 1", async () => {
    const fx = await registeredFlow(FAILING);
    const { exitCode, stdout } = await fx.cli(["run", "--name", "failing", "--execute"]);
    expect(stdout).toContain("| ERROR   | Task 'explode': Exception encountered during task execution!");
    expect(stdout).toEndWith("Flow run failed!\n");
    expect(exitCode).toBe(1);
  }, 30_000);

  test("a child killed mid-task leaves the run Failed with the reason, exit 1", async () => {
    const fx = await registeredFlow(KILLED);
    const { exitCode, stdout } = await fx.cli(["run", "--name", "killed", "--execute"]);
    expect(stdout).toContain("| ERROR   | The flow run process was killed by SIGKILL before the run finished.\n");
    expect(stdout).toEndWith("Flow run failed!\n");
    expect(exitCode).toBe(1);
    const client = fx.client();
    const [run] = await runs(client);
    await client.close();
    expect(run!.state).toBe("Failed");
    expect(run!.serialized_state.message).toBe("The flow run process was killed by SIGKILL before the run finished.");
    expect(run!.logs.at(-1)).toEqual({ level: "ERROR", message: "The flow run process was killed by SIGKILL before the run finished." });
  }, 30_000);

  test("a flow changed since registration: one clear line, the run Failed, exit 1", async () => {
    const fx = await registeredFlow(FAILING);
    writeFileSync(fx.path, FAILING.replace("exploded on purpose", "exploded differently"));
    const { exitCode, stdout } = await fx.cli(["run", "--name", "failing", "--execute"]);
    expect(stdout).toContain(`| ERROR   | flow 'failing' changed since it was registered: run prefectlite register -p ${fx.path} --project <project>\n`);
    expect(stdout).toEndWith("Flow run failed!\n");
    expect(exitCode).toBe(1);
  }, 30_000);
});

describe("prefectlite execute flow-run", () => {
  test("is left out of --help", async () => {
    const fx = await registeredFlow(FAILING);
    const { stdout } = await fx.cli(["--help"]);
    expect(stdout).not.toContain("execute");
    expect(stdout).toContain("cancel <flow_run_id>");
  }, 30_000);

  test("an unknown or malformed id: one line, exit 2, no stack", async () => {
    const fx = await registeredFlow(FAILING);
    const unknown = await fx.cli(["execute", "flow-run", "6f1c1d8e-6f4b-4a51-9d7e-2f0a4c1b2a3d"]);
    expect(unknown.stderr).toBe("Error: Flow run 6f1c1d8e-6f4b-4a51-9d7e-2f0a4c1b2a3d not found\n");
    expect(unknown.exitCode).toBe(2);
    const malformed = await fx.cli(["execute", "flow-run", "nope"]);
    expect(malformed.stderr.split("\n")).toHaveLength(2);
    expect(malformed.exitCode).toBe(2);
  }, 30_000);

  test("a finished run is a no-op: Flow run has already finished., exit 0", async () => {
    const fx = await registeredFlow(FAILING);
    await fx.cli(["run", "--name", "failing", "--execute"]);
    const client = fx.client();
    const [run] = await runs(client);
    await client.close();
    const again = await fx.cli(["execute", "flow-run", run!.id]);
    expect(again.stdout).toBe("Flow run has already finished.\n");
    expect(again.exitCode).toBe(0);
  }, 30_000);
});
