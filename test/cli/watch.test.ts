/**
 * `prefectlite run --name FLOW --watch` against a real `serve` (its in-process agent executes
 * the run): the stream of states and logs, the final line and exit code, the agent warning when
 * nothing can take the run, and Ctrl-C, which stops watching without cancelling.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { fixture, normalizeClock, runCli, tempDir } from "../helpers.ts";
import { startCli, type CliProcess } from "../e2e/process-helpers.ts";

let serve: CliProcess | undefined;
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});

async function serveWith(flags: string[] = []) {
  const home = tempDir("prefectlite-watch-");
  expect((await runCli(["create", "project", "w"], { home })).exitCode).toBe(0);
  expect((await runCli(["register", "-m", "prefectlite.hello_world", "-p", fixture("failing.ts"), "--project", "w"], { home })).exitCode).toBe(0);
  serve = startCli(["serve", "--port", "0", ...flags], { PREFECTLITE_HOME: home });
  const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
  return { home, url: url! };
}

describe("run --watch", () => {
  test("streams the run's states and logs in time order until it succeeds, then exits 0", async () => {
    const { home, url } = await serveWith();
    const { exitCode, stdout } = await runCli(["run", "--name", "hello-world", "--watch", "--api", url], { home });
    expect(exitCode).toBe(0);
    const lines = normalizeClock(stdout).split("\n");
    const at = (line: string) => lines.indexOf(line);
    expect(at("Watching flow run execution...")).toBeGreaterThan(at("Creating run for flow 'hello-world'... Done"));
    const order = [
      "└── HH:MM:SS | INFO    | Entered state <Scheduled>: Flow run scheduled.",
      "└── HH:MM:SS | INFO    | Entered state <Submitted>: Submitted for execution",
      "└── HH:MM:SS | INFO    | Entered state <Running>: Running flow.",
      "└── HH:MM:SS | INFO    | Entered state <Success>: All reference tasks succeeded.",
    ].map(at);
    expect(order.every((i) => i > at("Watching flow run execution..."))).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // A log line and a state stamped in the same millisecond may come in either order.
    expect(at("└── HH:MM:SS | INFO    | Hello World")).toBeGreaterThan(order[2]!);
    expect(lines.some((l) => /^└── HH:MM:SS \| INFO {4}\| Submitted for execution: PID \d+$/.test(l))).toBe(true);
    expect(lines.filter(Boolean).at(-1)).toBe("Flow run succeeded!");
  }, 60_000);

  test("a run that fails ends with 'Flow run failed!' and exit 1", async () => {
    const { home, url } = await serveWith();
    const { exitCode, stdout } = await runCli(["run", "--name", "failing", "--watch", "--api", url], { home });
    expect(exitCode).toBe(1);
    expect(stdout).toContain("exploded on purpose");
    expect(stdout.trim().split("\n").at(-1)).toBe("Flow run failed!");
  }, 60_000);

  test("with no agent for its labels: a warning at creation, then the agent warning naming the labels; Ctrl-C stops watching only", async () => {
    const { home, url } = await serveWith(["--no-agent"]);
    const watch = startCli(["run", "--name", "hello-world", "--label", "gpu", "--watch", "--api", url], {
      PREFECTLITE_HOME: home,
      PREFECTLITE_WATCH_AGENT_WARNING_SECONDS: "0.5",
    });
    const [, runId] = await watch.waitFor(/UUID: (\S+)/);
    await watch.waitFor(/WARNING \| It has been \d+ seconds and your flow run has not started\. .*prefectlite agent start --label gpu/);
    expect(watch.output()).toContain(
      "Warning: no registered agent has labels that include all of this run's labels [gpu], so no agent will take this run until one is started: prefectlite agent start --label gpu",
    );
    watch.proc.kill("SIGINT");
    expect(await watch.proc.exited).toBe(130);
    expect(watch.output()).toContain(`to cancel it: prefectlite cancel ${runId}`);
    const state = await runCli(["get", "flow-runs", "--json", "--api", url], { home });
    expect(JSON.parse(state.stdout).find((r: { id: string }) => r.id === runId).state).toBe("Scheduled");
  }, 60_000);
});
