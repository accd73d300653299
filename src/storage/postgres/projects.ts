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
  };
}
