/**
 * A worker for the concurrency test: registers flows and creates runs on a shared database file.
 * argv: <database path> <worker name> <iterations>. Prints one JSON line with what it created.
 */
import { openDatabase } from "../../../src/storage/db.ts";
import { createServices } from "../../../src/services/index.ts";
import { serializedFlow } from "../fixtures.ts";

const [path, worker, iterations] = process.argv.slice(2);
const db = openDatabase(path!);
const services = createServices(db);
const projectId = (db.query("SELECT id FROM project WHERE name = 'shared'").get() as { id: string }).id;
const runIds: string[] = [];
let versions = 0;
for (let i = 0; i < Number(iterations); i++) {
  // Both workers register the same flow name (a shared version group) and their own.
  const shared = services.createFlow({ serializedFlow: serializedFlow({ name: "shared-flow" }), projectId });
  const own = services.createFlow({ serializedFlow: serializedFlow({ name: `flow-${worker}` }), projectId });
  versions += 2;
  runIds.push(services.createFlowRun({ flowId: own.id }).id);
  runIds.push(services.createFlowRun({ flowId: own.id, idempotencyKey: `key-${worker}-${i % 5}` }).id);
  void shared;
}
console.log(JSON.stringify({ worker, runIds, versions }));
db.close();
