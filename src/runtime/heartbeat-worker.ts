/**
 * The heartbeat thread of the in-process backend (a Worker module: see
 * client/heartbeat-worker-loop.ts): it opens the database itself, through the store, so that
 * beats go on while the run's thread computes — on a SQLite file (a connection of its own) and on
 * PostgreSQL alike. It never migrates: the backend that started it already did.
 */
import { serveHeartbeatWatches } from "../client/heartbeat-worker-loop.ts";
import { openStorage } from "../storage/open.ts";

import type { StoreThreadTarget } from "../client/heartbeat-thread.ts";

serveHeartbeatWatches<StoreThreadTarget>({
  key: (target) => target.url,
  async open(target) {
    const storage = await openStorage(target.url, { migrate: false });
    const { store } = storage;
    return {
      async beat(flowRunId) {
        const found = await store.transaction(() => store.flowRuns.setHeartbeat(flowRunId, new Date().toISOString()));
        if (!found) throw new Error(`no flow run ${flowRunId}`);
      },
      state: async (flowRunId) => (await store.flowRuns.get(flowRunId))?.state,
      close: () => storage.close(),
    };
  },
});

