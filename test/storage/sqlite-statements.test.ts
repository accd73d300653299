/** The SQLite repositories compile their statements on first use (storage/sqlite/lazy-queries.ts): every one must compile. */
import { describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { createAgentRepository } from "../../src/storage/sqlite/agents.ts";
import { createArtifactRepository } from "../../src/storage/sqlite/artifacts.ts";
import { openDatabase } from "../../src/storage/sqlite/db.ts";
import { createFlowRunRepository } from "../../src/storage/sqlite/flow-runs.ts";
import { createFlowRepository } from "../../src/storage/sqlite/flows.ts";
import { lazyQueries, type Queries } from "../../src/storage/sqlite/lazy-queries.ts";
import { createLogRepository } from "../../src/storage/sqlite/logs.ts";
import { createProjectRepository } from "../../src/storage/sqlite/projects.ts";
import { createSafeguardRepository } from "../../src/storage/sqlite/safeguards.ts";
import { createScheduleRepository } from "../../src/storage/sqlite/schedules.ts";
import { createTaskRunRepository } from "../../src/storage/sqlite/task-runs.ts";

const REPOSITORIES = [
  createAgentRepository,
  createArtifactRepository,
  createFlowRunRepository,
  createFlowRepository,
  createLogRepository,
  createProjectRepository,
  createSafeguardRepository,
  createScheduleRepository,
  createTaskRunRepository,
];

describe("the SQLite repositories' statements", () => {
  test("every statement a repository declares compiles on the migrated schema", () => {
    const db = openDatabase(":memory:");
    // Compiled at once, as they were before they became lazy: a bad statement throws here.
    const compiled: string[] = [];
    const eager: Queries = { query: (sql: string) => (compiled.push(sql), db.query(sql)) } as unknown as Queries;
    for (const create of REPOSITORIES) create(eager);
    expect(compiled.length).toBeGreaterThan(80);
    db.close();
  });

  test("are compiled when they first run, once", () => {
    const db = openDatabase(":memory:");
    const queries = lazyQueries(db);
    const prepared: string[] = [];
    const real = db.query.bind(db);
    (db as { query: Database["query"] }).query = ((sql: string) => (prepared.push(sql), real(sql))) as Database["query"];
    const projects = createProjectRepository(queries);
    expect(prepared).toEqual([]);
    expect(projects.findByName("p")).toBeUndefined();
    expect(projects.findByName("p")).toBeUndefined();
    expect(prepared.length).toBe(1);
    db.close();
  });
});
