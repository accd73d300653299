import type { Queries } from "./lazy-queries.ts";
import type { ProjectRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import type { ProjectRecord } from "../records.ts";


export function createProjectRepository(db: Queries): Synchronous<ProjectRepository> {
  const byId = db.query<ProjectRecord, { id: string }>("SELECT id, name, description FROM project WHERE id = $id");
  const byName = db.query<ProjectRecord, { name: string }>("SELECT id, name, description FROM project WHERE name = $name");
  const insert = db.query(
    "INSERT INTO project (id, name, description, created, updated) VALUES ($id, $name, $description, $now, $now)",
  );
  const insertIfAbsent = db.query(
    `INSERT INTO project (id, name, description, created, updated) VALUES ($id, $name, $description, $now, $now)
     ON CONFLICT (name) DO NOTHING`,
  );
  const setName = db.query("UPDATE project SET name = $name, updated = $now WHERE id = $id");
  const setDescription = db.query("UPDATE project SET description = $description, updated = $now WHERE id = $id");
  const remove = db.query("DELETE FROM project WHERE id = $id");
  return {
    get: (id) => byId.get({ id }) ?? undefined,
    findByName: (name) => byName.get({ name }) ?? undefined,
    insert: (p, now) => void insert.run({ id: p.id, name: p.name, description: p.description, now }),
    insertIfAbsent(p, now) {
      insertIfAbsent.run({ id: p.id, name: p.name, description: p.description, now });
      return byName.get({ name: p.name }) ?? p;
    },
    update(id, patch, now) {
      if (!byId.get({ id })) return "missing";
      // Under the write lock (writers are serial on SQLite): the name checked here is still free at the update.
      if (patch.name !== undefined) {
        const holder = byName.get({ name: patch.name });
        if (holder && holder.id !== id) return "name-taken";
        setName.run({ id, name: patch.name, now });
      }
      if (patch.description !== undefined) setDescription.run({ id, description: patch.description, now });
      return "updated";
    },
    delete: (id) => remove.run({ id }).changes > 0,
  };
}
