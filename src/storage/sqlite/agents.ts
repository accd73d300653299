import type { Queries } from "./lazy-queries.ts";
import type { AgentRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import { fromJSONText } from "./json.ts";
import type { AgentRecord } from "../records.ts";


interface AgentRow {
  id: string;
  name: string;
  type: string;
  core_version: string | null;
  labels: string;
  last_queried: string | null;
}

function record(r: AgentRow | null): AgentRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    coreVersion: r.core_version,
    labels: fromJSONText(r.labels, []),
    lastQueried: r.last_queried,
  };
}

export function createAgentRepository(db: Queries): Synchronous<AgentRepository> {
  const COLUMNS = "id, name, type, core_version, labels, last_queried";
  const q = {
    get: db.query<AgentRow, { id: string }>(`SELECT ${COLUMNS} FROM agent WHERE id = $id`),
    identity: db.query<AgentRow, { name: string; type: string; labels: string; core_version: string | null }>(
      `SELECT ${COLUMNS} FROM agent WHERE name = $name AND type = $type AND labels = $labels
         AND core_version IS $core_version ORDER BY created LIMIT 1`,
    ),
    insert: db.query(
      `INSERT INTO agent (id, name, type, core_version, labels, last_queried, created, updated)
       VALUES ($id, $name, $type, $core_version, $labels, NULL, $now, $now)`,
    ),
    touch: db.query("UPDATE agent SET last_queried = $at WHERE id = $id"),
    delete: db.query("DELETE FROM agent WHERE id = $id"),
  };
  return {
    get: (id) => record(q.get.get({ id })),
    findIdentity: (a) =>
      record(q.identity.get({ name: a.name, type: a.type, labels: JSON.stringify(a.labels), core_version: a.coreVersion })),
    insert: (a, now) =>
      void q.insert.run({ id: a.id, name: a.name, type: a.type, core_version: a.coreVersion, labels: JSON.stringify(a.labels), now }),
    insertIfAbsent(a, now) {
      // Under the write lock (writers are serial on SQLite): what is read here stays true until the insert.
      const existing = record(q.identity.get({ name: a.name, type: a.type, labels: JSON.stringify(a.labels), core_version: a.coreVersion }));
      if (existing) return existing;
      q.insert.run({ id: a.id, name: a.name, type: a.type, core_version: a.coreVersion, labels: JSON.stringify(a.labels), now });
      return a;
    },
    touch: (id, at) => void q.touch.run({ id, at }),
    delete: (id) => q.delete.run({ id }).changes > 0,
  };
}
