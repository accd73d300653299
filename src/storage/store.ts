import type { Database } from "bun:sqlite";
import { databaseBusyError, isBusyError } from "./db.ts";
import { createAgentRepository, type AgentRepository } from "./agents.ts";
import { createFlowRunRepository, type FlowRunRepository } from "./flow-runs.ts";
import { createFlowRepository, type FlowRepository } from "./flows.ts";
import { createLogRepository, type LogRepository } from "./logs.ts";
import { createProjectRepository, type ProjectRepository } from "./projects.ts";
import { createSafeguardRepository, type SafeguardRepository } from "./safeguards.ts";
import { createScheduleRepository, type ScheduleRepository } from "./schedules.ts";
import { createTaskRunRepository, type TaskRunRepository } from "./task-runs.ts";

export type * from "./records.ts";

/**
 * Everything services may ask of storage: one repository per table group and a write
 * transaction. No SQL crosses this line, so another database can implement it.
 */
export interface Store {
  /**
   * Run `fn` in one write transaction (taken at once, so concurrent writers queue on the busy
   * timeout instead of failing on upgrade); a throw rolls everything back. Nested calls join
   * the outer transaction.
   */
  transaction<T>(fn: () => T): T;
  /**
   * Whether a transaction is open (an outer caller's, or a group commit's): bulk work splits
   * itself into transactions of its own only when it is not inside one.
   */
  inTransaction(): boolean;
  projects: ProjectRepository;
  flows: FlowRepository;
  flowRuns: FlowRunRepository;
  taskRuns: TaskRunRepository;
  logs: LogRepository;
  agents: AgentRepository;
  schedules: ScheduleRepository;
  /** The reads of the zombie killer and Lazarus. */
  safeguards: SafeguardRepository;
}

const stores = new WeakMap<Database, Store>();

/** The store of a database: built once per database, so its prepared statements are cached. */
export function createSqliteStore(db: Database): Store {
  const existing = stores.get(db);
  if (existing) return existing;
  // Prepared once: `db.transaction(fn)` builds four wrappers per call, which a write path that
  // opens a transaction per request pays every time.
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");
  const store: Store = {
    transaction<T>(fn: () => T): T {
      if (db.inTransaction) return db.transaction(fn)();
      try {
        begin.run();
      } catch (e) {
        throw isBusyError(e) ? databaseBusyError() : e;
      }
      try {
        const result = fn();
        commit.run();
        return result;
      } catch (e) {
        if (db.inTransaction) rollback.run();
        throw e;
      }
    },
    inTransaction: () => db.inTransaction,
    projects: createProjectRepository(db),
    flows: createFlowRepository(db),
    flowRuns: createFlowRunRepository(db),
    taskRuns: createTaskRunRepository(db),
    logs: createLogRepository(db),
    agents: createAgentRepository(db),
    schedules: createScheduleRepository(db),
    safeguards: createSafeguardRepository(db),
  };
  stores.set(db, store);
  return store;
}
