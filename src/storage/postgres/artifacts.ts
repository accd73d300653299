import type { ArtifactRepository } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid } from "./values.ts";

export function createArtifactRepository(db: Session): ArtifactRepository {
  return {
    async insert(a, now) {
      await db.query("INSERT INTO task_run_artifact (id, task_run_id, kind, data, created, updated) VALUES ($1, $2, $3, $4::text::jsonb, $5, $5)", [
        a.id,
        a.taskRunId,
        a.kind,
        JSON.stringify(a.data),
        now,
      ]);
    },
    async update(id, data, now) {
      if (!isUuid(id)) return false;
      const rows = await db.query("UPDATE task_run_artifact SET data = $2::text::jsonb, updated = $3 WHERE id = $1 RETURNING id", [id, JSON.stringify(data), now]);
      return rows.length > 0;
    },
    async delete(id) {
      if (!isUuid(id)) return false;
      return (await db.query("DELETE FROM task_run_artifact WHERE id = $1 RETURNING id", [id])).length > 0;
    },
  };
}
