import type { Services } from "../services/index.ts";
import type { ReadModel } from "../services/read-model.ts";

/** What every resolver receives: the write path, the read side and the calling agent. */
export interface ApiContext {
  services: Services;
  reads: ReadModel;
  /** From the `X-Prefect-Agent-Id` header (undefined in-process unless given). */
  agentId: string | undefined;
  /**
   * When set, mutations run through it: the server's group commit, where mutations arriving
   * together share one transaction (each rolled back alone if it fails). Absent, each commits alone.
   */
  writes?: { run<T>(fn: () => T): Promise<T> } | undefined;
}
