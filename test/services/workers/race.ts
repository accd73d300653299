/**
 * A worker for the race tests: one side of one race site, on a shared database.
 * argv: <database URL> <site> <side "a"|"b"> <count> <start at, epoch ms> [JSON input].
 * Both sides wait for the same start time, then go; prints one JSON line with what it got
 * (ids, and the error codes of refused calls).
 */
import { createServices } from "../../../src/services/index.ts";
import { openStorage } from "../../../src/storage/open.ts";
import { serializedFlow } from "../fixtures.ts";

const [url, site, side, countText, startAt, inputText] = process.argv.slice(2);
const count = Number(countText);
const input = JSON.parse(inputText ?? "{}") as { projectId?: string; flowId?: string; runIds?: string[]; flowIds?: string[] };
const storage = await openStorage(url!, { role: "command" });
const services = createServices(storage.store);
const results: Array<string | null> = [];
const errors: string[] = [];

/** The call's id, or null and its error code (a refused call is an answer; a crash is not). */
async function attempt(call: () => Promise<string>): Promise<void> {
  try {
    results.push(await call());
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code) throw e;
    errors.push(code);
    results.push(null);
  }
}

while (Date.now() < Number(startAt)) await Bun.sleep(1);
const projectId = input.projectId!;
switch (site) {
  case "register":
    for (let i = 0; i < count; i++) {
      // A first registration of a new name on both sides, then another version of one shared name.
      await attempt(async () => (await services.createFlow({ serializedFlow: serializedFlow({ name: `new-${i}` }), projectId })).id);
      await attempt(async () => (await services.createFlow({ serializedFlow: serializedFlow({ name: "shared", tasks: [`${side}-${i}`] }), projectId })).id);
    }
    break;
  case "idempotency":
    for (let i = 0; i < count; i++) await attempt(async () => (await services.createFlowRun({ flowId: input.flowId!, idempotencyKey: `key-${i}` })).id);
    break;
  case "agent":
    for (let i = 0; i < count; i++) await attempt(async () => (await services.registerAgent({ name: `agent-${i}`, type: "race", labels: side === "a" ? ["x", "y"] : ["y", "x"] })).id);
    break;
  case "claim": {
    const { id: agentId } = await services.registerAgent({ name: `claimer-${side}`, type: "race" });
    for (;;) {
      const claimed = await services.claimRuns({ agentId, limit: 3, labels: [] });
      if (!claimed.length) break;
      for (const run of claimed) results.push(run.id);
    }
    break;
  }
  case "cancel":
    for (const runId of input.runIds!) {
      if (side === "a") {
        // The user's cancel, then the runner's acknowledgement that cancels the unfinished task runs.
        await attempt(async () => (await services.cancelFlowRun(runId)).state);
        await attempt(async () => {
          const run = (await storage.store.flowRuns.get(runId))!;
          await services.setFlowRunStates([{ flowRunId: runId, version: run.version, state: { type: "Cancelled" } }]);
          return "Cancelled";
        });
      } else {
        // The runner's batch: its task runs start, at the versions it last saw.
        await attempt(async () => {
          const taskRuns = await storage.store.taskRuns.ofFlowRun(runId);
          await services.setTaskRunStates(taskRuns.map((t) => ({ taskRunId: t.id, version: t.version, state: { type: "Running" } })));
          return runId;
        });
      }
    }
    break;
  case "deactivate":
    for (const flowId of input.flowIds!) {
      if (side === "a") await attempt(async () => String(await services.scheduleFlowRuns(flowId, { maxRuns: 5 })));
      else await attempt(async () => String(await services.setScheduleInactive({ flowId })));
    }
    break;
  case "project":
    for (let i = 0; i < count; i++) await attempt(async () => (await services.createProject({ name: `project-${i}` })).id);
    break;
  default:
    throw new Error(`unknown site ${site}`);
}
console.log(JSON.stringify({ results, errors }));
await storage.close();
