/**
 * A worker for the concurrency test: registers flows and creates runs on a shared database file.
 * argv: <database URL> <worker name> <iterations>. Prints one JSON line with what it created.
 */
import { createServices } from "../../../src/services/index.ts";
import { openStorage } from "../../../src/storage/open.ts";
import { serializedFlow } from "../fixtures.ts";

const [url, worker, iterations] = process.argv.slice(2);
const storage = await openStorage(url!, { role: "command" });
const services = createServices(storage.store);
const projectId = (await storage.store.projects.findByName("shared"))!.id;
const runIds: string[] = [];
let versions = 0;
for (let i = 0; i < Number(iterations); i++) {
  // Both workers register the same flow name (a shared version group) and their own.
  const shared = await services.createFlow({ serializedFlow: serializedFlow({ name: "shared-flow" }), projectId });
  const own = await services.createFlow({ serializedFlow: serializedFlow({ name: `flow-${worker}` }), projectId });
  versions += 2;
  runIds.push((await services.createFlowRun({ flowId: own.id })).id);
  runIds.push((await services.createFlowRun({ flowId: own.id, idempotencyKey: `key-${worker}-${i % 5}` })).id);
  void shared;
}
console.log(JSON.stringify({ worker, runIds, versions }));
await storage.close();
