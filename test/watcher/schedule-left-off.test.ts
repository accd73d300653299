import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadFlowsInChild } from "../../src/backed/flow-source-child.ts";
import { createFlowFileRegistrar } from "../../src/watcher/reregister.ts";
import { openClient } from "./backend.ts";

describe("serve --watch registering a flow whose schedule cannot be active", () => {
  test("logs that the schedule is left off and why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prefectlite-rereg-"));
    const file = join(dir, "needs_x.ts");
    writeFileSync(
      file,
      `import { Flow, IntervalClock, Parameter, Schedule, task } from "prefectlite";
const show = task({ name: "show" }, (x: number) => x);
export const flow = new Flow("needs-x", () => { show(Parameter<number>("x")); }, { schedule: new Schedule({ clocks: [new IntervalClock("1h")] }) });
`,
    );
    const { client, close } = await openClient();
    await client.createProject("dev");
    const lines: string[] = [];
    const registrar = createFlowFileRegistrar({ client, project: "dev", log: (l) => lines.push(l), loadFlowFile: (path) => loadFlowsInChild({ path }, { timeoutMs: 10_000 }) });
    await registrar.handle({ type: "added", path: file });
    expect(lines).toEqual([
      expect.stringMatching(/^Registered 'needs-x' from .*needs_x\.ts: version 1 \(/),
      expect.stringMatching(/^'needs-x' from .*needs_x\.ts: schedule left off: parameter 'x' is required and the clock gives no value \(/),
    ]);
    await close();
  });
});
