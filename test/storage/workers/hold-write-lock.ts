/**
 * Another process's long write transaction: opens the database at argv[2], takes its write lock,
 * writes a row, says "held", keeps the lock for argv[3] ms (synchronously, as a long bulk write
 * would), commits and says "released".
 */
import { Database } from "bun:sqlite";

const [path, holdMs] = [process.argv[2]!, Number(process.argv[3] ?? 2000)];
const db = new Database(path);
db.exec("PRAGMA busy_timeout = 10000");
db.exec("BEGIN IMMEDIATE");
db.exec("CREATE TABLE IF NOT EXISTS lock_holder (at TEXT NOT NULL)");
db.query("INSERT INTO lock_holder (at) VALUES ($at)").run({ $at: new Date().toISOString() });
process.stdout.write("held\n");
Bun.sleepSync(holdMs);
db.exec("COMMIT");
process.stdout.write("released\n");
db.close();
