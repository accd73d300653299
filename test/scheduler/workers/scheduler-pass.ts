/**
 * A worker for the two-process test: a Scheduler on a shared database file, on a fixed clock,
 * making `passes` passes. argv: <database URL> <passes> <now ISO>. Prints the runs it created.
 */
import { Scheduler } from "../../../src/scheduler/scheduler.ts";
import { createServices } from "../../../src/services/index.ts";
import { openStorage } from "../../../src/storage/open.ts";

const [url, passes, now] = process.argv.slice(2);
const storage = await openStorage(url!, { role: "command" });
const services = createServices(storage.store, { now: () => new Date(now!) });
const scheduler = new Scheduler(services, { maxRuns: () => 10 });
let created = 0;
for (let i = 0; i < Number(passes); i++) created += (await scheduler.runOnce()).created;
console.log(JSON.stringify({ created }));
await storage.close();
