import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir } from "../helpers.ts";

const SCHEDULED = `import { Flow, IntervalClock, Parameter, Schedule, task } from "prefectlite";
const show = task({ name: "show" }, (x: number) => x);
export const flow = new Flow("needs-x", () => { show(Parameter<number>("x")); }, {
  schedule: new Schedule({ clocks: [new IntervalClock("1h")] }),
});
`;

describe("register with a schedule that cannot be active", () => {
  test("registers the flow, says the schedule is left off and why, exit 0", async () => {
    const home = tempDir("prefectlite-home-");
    const path = join(tempDir("prefectlite-flows-"), "needs_x.ts");
    writeFileSync(path, SCHEDULED);
    expect((await runCli(["create", "project", "p"], { home })).exitCode).toBe(0);
    const { stdout, stderr, exitCode } = await runCli(["register", "-p", path, "--project", "p"], { home });
    expect(stderr).toBe("");
    expect(stdout).toContain(
      "  └── Version: 1\n  └── Schedule left off: parameter 'x' is required and the clock gives no value (give a default, a clock parameter default or a flow-group default)\n",
    );
    expect(stdout).toContain("1 registered");
    expect(exitCode).toBe(0);

    const quiet = await runCli(["register", "-p", path, "--project", "p", "--force", "--no-schedule"], { home });
    expect(quiet.stdout).not.toContain("Schedule left off");
  });
});
