import type { AgentRecord, AgentRepository } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid, isoTime, jsonValue } from "./values.ts";

interface AgentRow {
  id: string;
  name: string;
  type: string;
  core_version: string | null;
  labels: unknown;
  last_queried: Date | null;
}

const COLUMNS = "id, name, type, core_version, labels, last_queried";

function record(r: AgentRow | undefined): AgentRecord | undefined {
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    coreVersion: r.core_version,
    labels: jsonValue(r.labels, []),
    lastQueried: isoTime(r.last_queried),
  };
}

export function createAgentRepository(db: Session): AgentRepository {
  const INSERT = `INSERT INTO agent (id, name, type, core_version, labels, last_queried, created, updated)
    VALUES ($1, $2, $3, $4, $5::text::jsonb, NULL, $6, $6)`;
  const insertValues = (a: AgentRecord, now: string) => [a.id, a.name, a.type, a.coreVersion, JSON.stringify(a.labels), now];
  const findIdentity = async (a: Omit<AgentRecord, "id" | "lastQueried">) =>
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
    async insertIfAbsent(a, now) {
      // The identity index (name, type, labels, core_version, NULLS NOT DISTINCT) is the conflict.
      const [row] = await db.query<AgentRow>(`${INSERT} ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`, insertValues(a, now));
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
