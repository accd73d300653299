import type { Queries } from "./lazy-queries.ts";
import type { AgentConfigRepository, AgentRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import { fromJSONText } from "./json.ts";
import type { AgentConfigRecord, AgentRecord } from "../records.ts";


interface AgentRow {
  id: string;
  name: string;
  type: string;
  core_version: string | null;
  labels: string;
  last_queried: string | null;
  agent_config_id: string | null;
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
    agentConfigId: r.agent_config_id,
  };
}

export function createAgentRepository(db: Queries): Synchronous<AgentRepository> {
  const COLUMNS = "id, name, type, core_version, labels, last_queried, agent_config_id";
  const q = {
    get: db.query<AgentRow, { id: string }>(`SELECT ${COLUMNS} FROM agent WHERE id = $id`),
    identity: db.query<AgentRow, { name: string; type: string; labels: string; core_version: string | null }>(
      `SELECT ${COLUMNS} FROM agent WHERE name = $name AND type = $type AND labels = $labels
         AND core_version IS $core_version ORDER BY created LIMIT 1`,
    ),
    insert: db.query(
      `INSERT INTO agent (id, name, type, core_version, labels, last_queried, agent_config_id, created, updated)
       VALUES ($id, $name, $type, $core_version, $labels, NULL, $agent_config_id, $now, $now)`,
    ),
    link: db.query("UPDATE agent SET agent_config_id = $agent_config_id, updated = $now WHERE id = $id"),
    touch: db.query("UPDATE agent SET last_queried = $at WHERE id = $id"),
    delete: db.query("DELETE FROM agent WHERE id = $id"),
  };
  const findIdentity = (a: Pick<AgentRecord, "name" | "type" | "coreVersion" | "labels">) =>
    record(q.identity.get({ name: a.name, type: a.type, labels: JSON.stringify(a.labels), core_version: a.coreVersion }));
  const insert = (a: AgentRecord, now: string) =>
    void q.insert.run({
      id: a.id,
      name: a.name,
      type: a.type,
      core_version: a.coreVersion,
      labels: JSON.stringify(a.labels),
      agent_config_id: a.agentConfigId,
      now,
    });
  return {
    get: (id) => record(q.get.get({ id })),
    findIdentity,
    insert,
    register(a, now) {
      // Under the write lock (writers are serial on SQLite): what is read here stays true until the write.
      const existing = findIdentity(a);
      if (!existing) {
        insert(a, now);
        return a;
      }
      if (existing.agentConfigId === a.agentConfigId) return existing;
      q.link.run({ id: existing.id, agent_config_id: a.agentConfigId, now });
      return { ...existing, agentConfigId: a.agentConfigId };
    },
    touch: (id, at) => void q.touch.run({ id, at }),
    delete: (id) => q.delete.run({ id }).changes > 0,
  };
}

interface AgentConfigRow {
  id: string;
  name: string | null;
  settings: string;
}

export function createAgentConfigRepository(db: Queries): Synchronous<AgentConfigRepository> {
  const q = {
    get: db.query<AgentConfigRow, { id: string }>("SELECT id, name, settings FROM agent_config WHERE id = $id"),
    insert: db.query("INSERT INTO agent_config (id, name, settings, created, updated) VALUES ($id, $name, $settings, $now, $now)"),
    // A null parameter keeps the column: only the fields given change.
    update: db.query(
      `UPDATE agent_config SET name = CASE WHEN $set_name THEN $name ELSE name END,
         settings = COALESCE($settings, settings), updated = $now WHERE id = $id`,
    ),
    delete: db.query("DELETE FROM agent_config WHERE id = $id"),
  };
  return {
    get(id) {
      const r = q.get.get({ id });
      return r ? ({ id: r.id, name: r.name, settings: fromJSONText(r.settings, {}) } satisfies AgentConfigRecord) : undefined;
    },
    insert: (c, now) => void q.insert.run({ id: c.id, name: c.name, settings: JSON.stringify(c.settings), now }),
    update: (id, patch, now) =>
      q.update.run({
        id,
        set_name: patch.name !== undefined ? 1 : 0,
        name: patch.name ?? null,
        settings: patch.settings === undefined ? null : JSON.stringify(patch.settings),
        now,
      }).changes > 0,
    delete: (id) => q.delete.run({ id }).changes > 0,
  };
}
