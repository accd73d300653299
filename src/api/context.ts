import type { Services } from "../services/index.ts";
import type { ReadModel } from "../services/read-model.ts";
import type { RowBudget } from "./row-budget.ts";

/** What every resolver receives: the write path, the read side and the calling agent. */
export interface ApiContext {
  services: Services;
  reads: ReadModel;
  /** From the `X-Prefect-Agent-Id` header (undefined in-process unless given). */
  agentId: string | undefined;
  /** From Prefect's `X-Prefect-Core-Version` header: the caller is Prefect Core (its client, CLI or agent). */
  prefectCoreVersion?: string | undefined;
  /** Aborts when the request's client goes away (over HTTP): a long poll stops waiting. */
  signal?: AbortSignal;
  /**
   * Mutations run through it, each document all or nothing: one store transaction per document
   * (on SQLite, documents arriving together share a commit, each in its own savepoint). Absent,
   * each field's writes commit on their own.
   */
  writes?: { run<T>(fn: () => Promise<T>): Promise<T> } | undefined;
  /** The rows bound kept while this operation runs, when its estimate passed it (query-limits.ts). */
  rowBudget?: RowBudget | undefined;
}
