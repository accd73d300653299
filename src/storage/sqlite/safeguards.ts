import type { Queries } from "./lazy-queries.ts";
import type { SafeguardRepository } from "../store.ts";
import type { Synchronous } from "./synchronous.ts";
import type { StateType } from "../../core/state.ts";
import { GROUP_JOIN, LAST_SIGN_OF_LIFE, NO_PAUSED_TASK_RUN, stale, type StaleRow, type ZombieRow } from "../safeguard-rows.ts";

/**
 * The reads of the zombie killer and Lazarus. A run's last sign of life is its heartbeat, or,
 * when it never beat, the time of its state. A flow group's switches live in its settings JSON
 * (`heartbeat_enabled`, `lazarus_enabled`); a missing switch counts as on.
 */

const SWITCH_ON = (name: string) => `COALESCE(json_extract(g.settings, '$.${name}'), 1) != 0`;

export function createSafeguardRepository(db: Queries): Synchronous<SafeguardRepository> {
  const q = {
    zombies: db.query<ZombieRow, { cutoff: string; limit: number }>(
      `SELECT tr.id, tr.flow_run_id, fr.state AS flow_run_state, tr.task_slug, tr.version, t.max_retries, t.retry_delay_ms,
         (SELECT COUNT(*) FROM task_run_state s WHERE s.task_run_id = tr.id AND s.state = 'Running') AS attempts
       FROM flow_run fr ${GROUP_JOIN}
       JOIN task_run tr ON tr.flow_run_id = fr.id AND tr.state = 'Running'
       JOIN task t ON t.id = tr.task_id
       WHERE fr.state IN ('Running', 'Submitted') AND ${LAST_SIGN_OF_LIFE} < $cutoff AND ${SWITCH_ON("heartbeat_enabled")}
       ORDER BY fr.updated, tr.id
       LIMIT $limit`,
    ),
    cancelling: db.query<StaleRow, { cutoff: string; limit: number }>(
      `SELECT fr.id, fr.version, fr.state, fr.times_resurrected FROM flow_run fr ${GROUP_JOIN}
       WHERE fr.state = 'Cancelling' AND ${LAST_SIGN_OF_LIFE} < $cutoff AND ${SWITCH_ON("heartbeat_enabled")}
       ORDER BY fr.updated LIMIT $limit`,
    ),
    lazarus: db.query<StaleRow, { cutoff: string; limit: number }>(
      `SELECT fr.id, fr.version, fr.state, fr.times_resurrected FROM flow_run fr ${GROUP_JOIN}
       WHERE fr.state IN ('Running', 'Submitted') AND ${LAST_SIGN_OF_LIFE} < $cutoff
         AND ${SWITCH_ON("heartbeat_enabled")} AND ${SWITCH_ON("lazarus_enabled")}
         AND NOT EXISTS (SELECT 1 FROM task_run tr WHERE tr.state = 'Running' AND tr.flow_run_id = fr.id) AND ${NO_PAUSED_TASK_RUN}
       ORDER BY fr.updated LIMIT $limit`,
    ),
    run: db.query<StaleRow, { id: string }>("SELECT id, version, state, times_resurrected FROM flow_run WHERE id = $id"),
    resurrected: db.query("UPDATE flow_run SET times_resurrected = times_resurrected + 1 WHERE id = $id"),
    relabel: db.query("UPDATE flow_run SET labels = $labels WHERE id = $id"),
  };
  return {
    zombieTaskRuns: (cutoff, limit) =>
      q.zombies.all({ cutoff, limit }).map((r) => ({
        id: r.id,
        flowRunId: r.flow_run_id,
        flowRunState: r.flow_run_state as StateType,
        taskSlug: r.task_slug,
        version: r.version,
        maxRetries: r.max_retries,
        retryDelayMs: r.retry_delay_ms,
        attempts: r.attempts,
      })),
    silentCancellingRuns: (cutoff, limit) => q.cancelling.all({ cutoff, limit }).map(stale),
    lazarusCandidates: (cutoff, limit) => q.lazarus.all({ cutoff, limit }).map(stale),
    staleRun: (id) => {
      const r = q.run.get({ id });
      return r ? stale(r) : undefined;
    },
    incrementTimesResurrected: (id) => void q.resurrected.run({ id }),
    setLabels: (id, labels) => void q.relabel.run({ id, labels: JSON.stringify(labels) }),
  };
}
