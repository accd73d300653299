import type { ProjectRecord, ProjectRepository } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid } from "./values.ts";

const COLUMNS = "id, name, description";

export function createProjectRepository(db: Session): ProjectRepository {
  const byName = async (name: string) =>
    (await db.query<ProjectRecord>(`SELECT ${COLUMNS} FROM project WHERE name = $1`, [name]))[0];
  return {
    get: async (id) => (isUuid(id) ? (await db.query<ProjectRecord>(`SELECT ${COLUMNS} FROM project WHERE id = $1`, [id]))[0] : undefined),
    findByName: byName,
    async insert(p, now) {
      await db.query("INSERT INTO project (id, name, description, created, updated) VALUES ($1, $2, $3, $4, $4)", [
        p.id,
        p.name,
        p.description,
        now,
      ]);
    },
    async insertIfAbsent(p, now) {
      // A concurrent insert of the name waits for the other transaction, then does nothing: the
      // read after it (a new snapshot under READ COMMITTED) sees the winner.
      const [inserted] = await db.query<ProjectRecord>(
        `INSERT INTO project (id, name, description, created, updated) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
        [p.id, p.name, p.description, now],
      );
      return inserted ?? (await byName(p.name))!;
    },
    async update(id, patch, now) {
      if (!isUuid(id)) return "missing";
      const sets: string[] = [];
      const values: unknown[] = [id, now];
      for (const [column, value] of [["name", patch.name], ["description", patch.description]] as const) {
        if (value === undefined) continue;
        values.push(value);
        sets.push(`${column} = $${values.length}`);
      }
      if (patch.name !== undefined) {
        // The name's holder, if another project: checked in the same statement, and the unique
        // index settles a concurrent rename to the same name (23505 below).
        const [holder] = await db.query<{ id: string }>("SELECT id FROM project WHERE name = $1 AND id <> $2", [patch.name, id]);
        if (holder) return "name-taken";
      }
      try {
        const rows = await db.query<{ id: string }>(`UPDATE project SET ${[...sets, "updated = $2"].join(", ")} WHERE id = $1 RETURNING id`, values);
        return rows.length ? "updated" : "missing";
      } catch (e) {
        if ((e as { code?: string }).code === "23505") return "name-taken";
        throw e;
      }
    },
    async delete(id) {
      if (!isUuid(id)) return false;
      return (await db.query<{ id: string }>("DELETE FROM project WHERE id = $1 RETURNING id", [id])).length > 0;
    },
  };
}
