import type { SQL } from "bun";
import type { OpenStorageOptions, Storage } from "../open.ts";
import { createPostgresQueryEngine } from "../query.ts";
import type { LoopName, Store } from "../store.ts";
import { createAgentConfigRepository, createAgentRepository } from "./agents.ts";
import { connectPostgres } from "./connection.ts";
import { createEvents } from "./events.ts";
import { createFlowRunRepository } from "./flow-runs.ts";
import { createFlowRepository } from "./flows.ts";
import { createLogRepository } from "./logs.ts";
import { checkPostgresSchema, migratePostgres } from "./migrate.ts";
import { createProjectRepository } from "./projects.ts";
import { createArtifactRepository } from "./artifacts.ts";
import { createSafeguardRepository } from "./safeguards.ts";
import { createScheduleRepository } from "./schedules.ts";
import { createSession, unavailableError } from "./session.ts";
import { createTaskRunRepository } from "./task-runs.ts";
import { isUuid } from "./values.ts";

export interface PostgresStore extends Store {
  /** Stop listening (the pool is the caller's to close). */
  close(): Promise<void>;
}

type LockedTable = "flow_group" | "flow" | "flow_run" | "agent_config";

/**
 * The Store on a PostgreSQL pool: READ COMMITTED transactions carried by AsyncLocalStorage (nested
 * ones are savepoints), row locks, NOTIFY/LISTEN for run events and advisory locks for the loops.
 */
export function createPostgresStore(pool: SQL): PostgresStore {
  const db = createSession(pool);
  const events = createEvents(pool, db);

  async function lockRow(table: LockedTable, id: string, mode: "share" | "update"): Promise<void> {
    // Outside a transaction a row lock would end with its own statement: nothing to hold.
    if (!db.inTransaction() || !isUuid(id)) return;
    await db.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR ${mode === "share" ? "SHARE" : "UPDATE"}`, [id]);
  }

  async function exclusive<T>(loop: LoopName, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    // The lock lives in a transaction of its own, held (idle) for the pass; the pass itself runs
    // in the caller's context, its writes in transactions of their own as on SQLite. A replica
    // that dies mid-pass drops its connection, and with it the lock.
    const inCaller = db.capture();
    const outcome = await db
      .outside(() =>
        pool.begin(async (tx) => {
          const [row] = await tx.unsafe<{ acquired: boolean }[]>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS acquired", [`prefectlite:${loop}`]);
          if (!row?.acquired) return { ran: false as const };
          return { ran: true as const, value: await inCaller(fn) };
        }),
      )
      .catch((e) => {
        throw unavailableError(e) ?? e;
      });
    return outcome as { ran: true; value: T } | { ran: false };
  }

  return {
    dialect: "postgres",
    transaction: db.transaction,
    inTransaction: db.inTransaction,
    lock: {
      flowGroup: (id) => lockRow("flow_group", id, "update"),
      flow: (id, mode) => lockRow("flow", id, mode),
      flowRun: (id, mode) => lockRow("flow_run", id, mode),
      flowName: async (projectId, name) => {
        if (!db.inTransaction()) return;
        // Released at commit or rollback; a hash collision only serializes two unrelated names.
        await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`prefectlite:flow-name:${projectId}:${name}`]);
      },
      agentConfig: (id) => lockRow("agent_config", id, "share"),
    },
    events: { runsChanged: events.runsChanged, subscribe: events.subscribe },
    exclusive,
    projects: createProjectRepository(db),
    flows: createFlowRepository(db),
    flowRuns: createFlowRunRepository(db),
    taskRuns: createTaskRunRepository(db),
    logs: createLogRepository(db),
    agents: createAgentRepository(db),
    agentConfigs: createAgentConfigRepository(db),
    schedules: createScheduleRepository(db),
    safeguards: createSafeguardRepository(db),
    artifacts: createArtifactRepository(db),
    close: events.close,
  };
}

/** Open a postgres:// URL as Storage: migrated (or, with migrate: false, refused when behind). */
export async function openPostgresStorage(url: string, options: OpenStorageOptions = {}): Promise<Storage> {
  const { sql, target } = await connectPostgres(url);
  try {
    if (options.migrate === false) await checkPostgresSchema(sql);
    else await migratePostgres(sql);
  } catch (e) {
    await sql.close().catch(() => {});
    throw e;
  }
  const store = createPostgresStore(sql);
  let closed = false;
  return {
    dialect: "postgres",
    description: target.description,
    store,
    query: createPostgresQueryEngine(sql),
    async close() {
      if (closed) return;
      closed = true;
      await store.close();
      await sql.close({ timeout: 5 });
    },
  };
}
