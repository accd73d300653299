import type { StateType } from "../../core/state.ts";
import type { SafeguardRepository } from "../store.ts";
import type { Session } from "./session.ts";
import { isUuid } from "./values.ts";
import { GROUP_JOIN, LAST_SIGN_OF_LIFE, NO_PAUSED_TASK_RUN, stale, type StaleRow, type ZombieRow } from "../safeguard-rows.ts";

/** A group switch in its settings JSON: on unless it is false or 0 (SQLite's `COALESCE(json_extract(…), 1) != 0`). */
const SWITCH_ON = (name: string) => `COALESCE(g.settings -> '${name}' NOT IN ('false'::jsonb, '0'::jsonb), true)`;

export function createSafeguardRepository(db: Session): SafeguardRepository {
  return {
    async zombieTaskRuns(cutoff, limit) {
      const rows = await db.query<ZombieRow>(
        `SELECT tr.id, tr.flow_run_id, fr.state AS flow_run_state, tr.task_slug, tr.version, t.max_retries, t.retry_delay_ms,
           (SELECT COUNT(*)::int FROM task_run_state s WHERE s.task_run_id = tr.id AND s.state = 'Running') AS attempts
         FROM flow_run fr ${GROUP_JOIN}
         JOIN task_run tr ON tr.flow_run_id = fr.id AND tr.state = 'Running'
         JOIN task t ON t.id = tr.task_id
         WHERE fr.state IN ('Running', 'Submitted') AND ${LAST_SIGN_OF_LIFE} < $1 AND ${SWITCH_ON("heartbeat_enabled")}
         ORDER BY fr.updated, tr.id
         LIMIT $2`,
        [cutoff, limit],
      );
      return rows.map((r) => ({
        id: r.id,
        flowRunId: r.flow_run_id,
        flowRunState: r.flow_run_state as StateType,
        taskSlug: r.task_slug,
        version: r.version,
        maxRetries: r.max_retries,
        retryDelayMs: r.retry_delay_ms,
        attempts: r.attempts,
      }));
    },
    async silentCancellingRuns(cutoff, limit) {
      const rows = await db.query<StaleRow>(
        `SELECT fr.id, fr.version, fr.state, fr.times_resurrected FROM flow_run fr ${GROUP_JOIN}
         WHERE fr.state = 'Cancelling' AND ${LAST_SIGN_OF_LIFE} < $1 AND ${SWITCH_ON("heartbeat_enabled")}
         ORDER BY fr.updated LIMIT $2`,
        [cutoff, limit],
      );
      return rows.map(stale);
    },
    async lazarusCandidates(cutoff, limit) {
      const rows = await db.query<StaleRow>(
        `SELECT fr.id, fr.version, fr.state, fr.times_resurrected FROM flow_run fr ${GROUP_JOIN}
         WHERE fr.state IN ('Running', 'Submitted') AND ${LAST_SIGN_OF_LIFE} < $1
           AND ${SWITCH_ON("heartbeat_enabled")} AND ${SWITCH_ON("lazarus_enabled")}
           AND NOT EXISTS (SELECT 1 FROM task_run tr WHERE tr.state = 'Running' AND tr.flow_run_id = fr.id) AND ${NO_PAUSED_TASK_RUN}
         ORDER BY fr.updated LIMIT $2`,
        [cutoff, limit],
      );
      return rows.map(stale);
    },
    async staleRun(id) {
      if (!isUuid(id)) return undefined;
      const [row] = await db.query<StaleRow>("SELECT id, version, state, times_resurrected FROM flow_run WHERE id = $1", [id]);
      return row ? stale(row) : undefined;
    },
    async incrementTimesResurrected(id) {
      if (isUuid(id)) await db.query("UPDATE flow_run SET times_resurrected = times_resurrected + 1 WHERE id = $1", [id]);
    },
    async setLabels(id, labels) {
      if (isUuid(id)) await db.query("UPDATE flow_run SET labels = $2::text::jsonb WHERE id = $1", [id, JSON.stringify(labels)]);
    },
  };
}
