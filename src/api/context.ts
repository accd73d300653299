import type { Services } from "../services/index.ts";
import type { ReadModel } from "../services/read-model.ts";

/** What every resolver receives: the write path, the read side and the calling agent. */
export interface ApiContext {
  services: Services;
  reads: ReadModel;
  /** From the `X-Prefect-Agent-Id` header (undefined in-process unless given). */
  agentId: string | undefined;
  /**
   * Mutations run through it, each document all or nothing: the server's group commit (documents
   * arriving together share one transaction, each in its own savepoint), or in-process one
   * transaction per document. Absent, each field's writes commit on their own.
   */
  writes?: { run<T>(fn: () => T): Promise<T> } | undefined;
}
