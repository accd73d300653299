import type { AgentConfigRecord, AgentConfigRepository, AgentRecord, AgentRepository } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid, isoTime, jsonValue } from "./values.ts";

interface AgentRow {
  id: string;
  name: string;
  type: string;
  core_version: string | null;
  labels: unknown;
  last_queried: Date | null;
  agent_config_id: string | null;
}

const COLUMNS = "id, name, type, core_version, labels, last_queried, agent_config_id";

function record(r: AgentRow | undefined): AgentRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    coreVersion: r.core_version,
    labels: jsonValue(r.labels, []),
    lastQueried: isoTime(r.last_queried),
    agentConfigId: r.agent_config_id,
  };
}

export function createAgentRepository(db: Session): AgentRepository {
  const INSERT = `INSERT INTO agent (id, name, type, core_version, labels, last_queried, agent_config_id, created, updated)
    VALUES ($1, $2, $3, $4, $5::text::jsonb, NULL, $6, $7, $7)`;
  const insertValues = (a: AgentRecord, now: string) => [a.id, a.name, a.type, a.coreVersion, JSON.stringify(a.labels), a.agentConfigId, now];
  const findIdentity = async (a: Pick<AgentRecord, "name" | "type" | "coreVersion" | "labels">) =>
    record(
      (
        await db.query<AgentRow>(
          `SELECT ${COLUMNS} FROM agent WHERE name = $1 AND type = $2 AND labels = $3::text::jsonb
             AND core_version IS NOT DISTINCT FROM $4 ORDER BY created LIMIT 1`,
          [a.name, a.type, JSON.stringify(a.labels), a.coreVersion],
        )
      )[0],
    );
  return {
    get: async (id) => (isUuid(id) ? record((await db.query<AgentRow>(`SELECT ${COLUMNS} FROM agent WHERE id = $1`, [id]))[0]) : undefined),
    findIdentity,
    async insert(a, now) {
      await db.query(INSERT, insertValues(a, now));
    },
    async register(a, now) {
      // The identity index (name, type, labels, core_version, NULLS NOT DISTINCT) is the conflict;
      // an existing agent is written only when its config changes (no RETURNING row otherwise).
      const [row] = await db.query<AgentRow>(
        `${INSERT} ON CONFLICT (name, type, labels, core_version) DO UPDATE SET agent_config_id = EXCLUDED.agent_config_id, updated = EXCLUDED.updated
           WHERE agent.agent_config_id IS DISTINCT FROM EXCLUDED.agent_config_id RETURNING ${COLUMNS}`,
        insertValues(a, now),
      );
      return record(row) ?? (await findIdentity(a))!;
    },
    async touch(id, at) {
      if (isUuid(id)) await db.query("UPDATE agent SET last_queried = $2 WHERE id = $1", [id, at]);
    },
    async delete(id) {
      return isUuid(id) && (await db.query("DELETE FROM agent WHERE id = $1 RETURNING id", [id])).length > 0;
    },
  };
}

interface AgentConfigRow {
  id: string;
  name: string | null;
  settings: unknown;
}

export function createAgentConfigRepository(db: Session): AgentConfigRepository {
  return {
    async get(id) {
      if (!isUuid(id)) return undefined;
      const [r] = await db.query<AgentConfigRow>("SELECT id, name, settings FROM agent_config WHERE id = $1", [id]);
      return r ? ({ id: r.id, name: r.name, settings: jsonValue(r.settings, {}) } satisfies AgentConfigRecord) : undefined;
    },
    async insert(c, now) {
      await db.query("INSERT INTO agent_config (id, name, settings, created, updated) VALUES ($1, $2, $3::text::jsonb, $4, $4)", [
        c.id,
        c.name,
        JSON.stringify(c.settings),
        now,
      ]);
    },
    async update(id, patch, now) {
      if (!isUuid(id)) return false;
      // A null settings parameter keeps the column: only the fields given change.
      const rows = await db.query(
        `UPDATE agent_config SET name = CASE WHEN $2 THEN $3 ELSE name END, settings = COALESCE($4::text::jsonb, settings), updated = $5
           WHERE id = $1 RETURNING id`,
        [id, patch.name !== undefined, patch.name ?? null, patch.settings === undefined ? null : JSON.stringify(patch.settings), now],
      );
      return rows.length > 0;
    },
    async delete(id) {
      return isUuid(id) && (await db.query("DELETE FROM agent_config WHERE id = $1 RETURNING id", [id])).length > 0;
    },
  };
}
