import type { Queries } from "./lazy-queries.ts";
import type { ArtifactRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";

export function createArtifactRepository(db: Queries): Synchronous<ArtifactRepository> {
  const insert = db.query(
    "INSERT INTO task_run_artifact (id, task_run_id, kind, data, created, updated) VALUES ($id, $task_run_id, $kind, $data, $now, $now)",
  );
  const update = db.query("UPDATE task_run_artifact SET data = $data, updated = $now WHERE id = $id");
  const remove = db.query("DELETE FROM task_run_artifact WHERE id = $id");
  return {
    insert: (a, now) => void insert.run({ id: a.id, task_run_id: a.taskRunId, kind: a.kind, data: JSON.stringify(a.data), now }),
    update: (id, data, now) => update.run({ id, data: JSON.stringify(data), now }).changes > 0,
    delete: (id) => remove.run({ id }).changes > 0,
  };
}
