/**
 * The agent's side of the warm-child protocol and of the run channel with a stand-in child (no
 * prefectlite in it): ready, runs and done messages, calls answered from the host's backend
 * (only the run's own methods), a cancel passed on, and a child that dies holding a run.
 */
import { describe, expect, test } from "bun:test";
import type { Backend } from "../../src/client/backend.ts";
import { RunChannelHost } from "../../src/run-process/run-channel.ts";
import { spawnWarmFlowRunProcess } from "../../src/run-process/warm-child.ts";

/** A child that says ready, and for each run message runs `body` (JS, with `id` and `call(method, args)`), then says done with `code`. */
function standIn(body: string, code: number): string[] {
  const script = `
    let n = 0; const waiting = new Map(); let chain = Promise.resolve();
    const call = (m, a) => new Promise((resolve, reject) => { const k = ++n; waiting.set(k, { resolve, reject }); process.send({ t: "call", n: k, m, a }); });
    process.on("message", async (msg) => {
      if (msg.t === "reply") { const w = waiting.get(msg.n); waiting.delete(msg.n); msg.err ? w.reject(msg.err) : w.resolve(msg.ok); return; }
      if (msg.t === "bye") return void chain.then(() => process.exit(0));
      if (msg.t === "cancel") { process.send({ t: "done", id: msg.id, code: 9, stop: true, rss: 1 }); return; }
      if (msg.t !== "run") return;
      chain = chain.then(async () => {
        const id = msg.id;
        ${body}
        process.send({ t: "done", id, code: ${code}, stop: false, rss: 123 });
      });
    });
    process.send({ t: "ready" });`;
  return [process.execPath, "-e", script];
}

/** A backend answering the two reads the stand-ins make, recording what it was asked. */
function fakeRunBackend(calls: string[], state = "Running"): Backend {
  return {
    readFlowRunState: async (id: string) => (calls.push(`readFlowRunState ${id}`), { state, version: 3 }),
    runStandings: async (ids: string[]) => (calls.push(`runStandings ${ids.join(",")}`), new Map(ids.map((id) => [id, { state, version: 3 }]))),
    heartbeat: async (id: string) => void calls.push(`heartbeat ${id}`),
    readFlowRun: async () => {
      throw Object.assign(new Error("no such run"), { code: "NotFound" });
    },
  } as unknown as Backend;
}

const env = () => ({ ...process.env }) as Record<string, string>;

describe("a warm child given several runs", () => {
  test("each run ends at its done message with its code; its calls are answered from the host's backend", async () => {
    const calls: string[] = [];
    const host = new RunChannelHost(fakeRunBackend(calls));
    const child = spawnWarmFlowRunProcess(
      standIn(
        `const s = await call("readFlowRunState", [id]);
         if (s.state !== "Running" || s.version !== 3) process.exit(5);
         const m = await call("runStandings", [[id]]);
         if (m[0][0] !== id || m[0][1].version !== 3) process.exit(6);
         const e = await call("readFlowRun", [id]).catch((e) => e);
         if (e.code !== "NotFound" || e.message !== "no such run") process.exit(7);
         const refused = await call("graphql", ["{ flow { id } }"]).catch((e) => e);
         if (refused.code !== "Usage") process.exit(8);`,
        0,
      ),
      env(),
      { host },
    );
    expect(await child.ready).toBe(true);
    const first = child.assign("run-1", { more: true });
    expect(await first.exited).toEqual({ code: 0, signal: null, stderrTail: "", runOnly: true });
    expect(child.canTakeRun).toBe(true);
    expect(child.rss).toBe(123);
    const second = child.assign("run-2"); // the last: the child is told bye after it, the handle is the process
    expect((await second.exited).code).toBe(0);
    expect(child.runs).toBe(2);
    expect(child.canTakeRun).toBe(false);
    expect(calls).toEqual(["readFlowRunState run-1", "runStandings run-1", "readFlowRunState run-2", "runStandings run-2"]);
    host.close();
  });

  test("the host tells a child whose run is Cancelling, and beats for the runs its children hold", async () => {
    const calls: string[] = [];
    const host = new RunChannelHost(fakeRunBackend(calls, "Cancelling"), { cancelPollMs: 20, heartbeatMs: 20 });
    const child = spawnWarmFlowRunProcess(standIn(`await new Promise(() => {});`, 0), env(), { host });
    await child.ready;
    const outcome = await child.assign("run-1", { more: true }).exited;
    expect(outcome.code).toBe(9); // the stand-in answers a cancel by ending the run with 9
    expect(calls).toContain("runStandings run-1");
    expect(child.canTakeRun).toBe(false); // it said stop
    child.kill("SIGKILL");
    await child.exited;
    host.close();
  });

  test("a child that dies holding a run ends that run as the process did", async () => {
    const host = new RunChannelHost(fakeRunBackend([]));
    const dying = spawnWarmFlowRunProcess(standIn(`process.kill(process.pid, "SIGKILL");`, 0), env(), { host });
    await dying.ready;
    const outcome = await dying.assign("run-1", { more: true }).exited;
    expect(outcome.signal).toBe("SIGKILL");
    expect(outcome.runOnly).toBeUndefined();
    expect(dying.canTakeRun).toBe(false);
    expect(() => dying.assign("run-2", { more: true })).toThrow();
    host.close();
  });
});
