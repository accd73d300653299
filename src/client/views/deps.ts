import { PrefectliteError } from "../../core/errors.ts";
import type { ResultLocation } from "../../core/state.ts";
import type { BackendClient } from "../client.ts";
import { isUuid } from "../../core/uuid.ts";

/**
 * Reads a task result back from where it was written (the engine's result store is one). It
 * reads only inside its own default results folder or the result's own folder, which it asks
 * `configuredDir` for (the dir of the task's, else the flow's, LocalResult; null for none).
 */
export interface ResultReader {
  read(location: ResultLocation, options?: { configuredDir?: () => Promise<string | null | undefined> | string | null | undefined }): Promise<unknown>;
}

/** What a view talks to: the backend, and the reader of result files. */
export interface ViewOptions {
  /** Default: the SDK Client of the environment (PREFECTLITE_API_URL, else the embedded database). */
  client?: BackendClient;
  /** Default: JSON result files under $PREFECTLITE_HOME/results. */
  results?: ResultReader;
}

export interface ViewDeps {
  readonly client: BackendClient;
  readonly results: ResultReader;
}

let defaults: (() => ViewDeps) | undefined;

/**
 * The SDK entry wires the defaults (the environment's client and result store) here, so the
 * views need neither the SDK nor the engine: callers elsewhere (the CLI) pass their own.
 */
export function setViewDefaults(provider: () => ViewDeps): void {
  defaults = provider;
}

export function resolveViewDeps(options: ViewOptions = {}): ViewDeps {
  if (options.client && options.results) return { client: options.client, results: options.results };
  if (!defaults) {
    throw new PrefectliteError("Usage", "views need a client and a result reader: pass { client, results } or import them from 'prefectlite'");
  }
  const d = defaults();
  return { client: options.client ?? d.client, results: options.results ?? d.results };
}


/** An id given by a user: a malformed one is "not found" with the reason, not a GraphQL error. */
export function requireId(id: unknown, what: string): string {
  if (!isUuid(id)) {
    throw new PrefectliteError("NotFound", `${what} ${JSON.stringify(id)} not found: ${what.toLowerCase()} ids are UUIDs`);
  }
  return id.toLowerCase();
}

/** Freeze a JSON value all the way down (views are immutable snapshots). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
