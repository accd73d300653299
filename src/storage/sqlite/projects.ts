import type { Database } from "bun:sqlite";
import type { ProjectRecord } from "../records.ts";

export interface ProjectRepository {
  get(id: string): ProjectRecord | undefined;
  findByName(name: string): ProjectRecord | undefined;
  insert(project: ProjectRecord, now: string): void;
}

export function createProjectRepository(db: Database): ProjectRepository {
  const byId = db.query<ProjectRecord, { id: string }>("SELECT id, name, description FROM project WHERE id = $id");
  const byName = db.query<ProjectRecord, { name: string }>("SELECT id, name, description FROM project WHERE name = $name");
  const insert = db.query(
    "INSERT INTO project (id, name, description, created, updated) VALUES ($id, $name, $description, $now, $now)",
  );
  return {
    get: (id) => byId.get({ id }) ?? undefined,
    findByName: (name) => byName.get({ name }) ?? undefined,
    insert: (p, now) => void insert.run({ id: p.id, name: p.name, description: p.description, now }),
  };
}
