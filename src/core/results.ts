/**
 * Result configuration. Values stay on the user's disk; the backend only stores where they went.
 * Writing and reading happen in the engine's result store: this is plain data.
 */
export interface LocalResultOptions {
  /** Folder for results; default `$PREFECTLITE_HOME/results`. */
  dir?: string;
  /**
   * File name template relative to `dir`. Placeholders in braces: {flowName}, {flowRunId},
   * {flowRunName}, {taskName}, {taskSlug}, {taskRunId}, {mapIndex}, {today}, and parameter names.
   * Default: `YYYY/M/D/<uuid>.prefect_result` (UTC date, as Prefect).
   */
  location?: string;
}

export class LocalResult {
  readonly type = "LocalResult" as const;
  readonly dir: string | undefined;
  readonly location: string | undefined;
  constructor(options: LocalResultOptions = {}) {
    this.dir = options.dir;
    this.location = options.location;
  }
  toJSON() {
    return { type: this.type, dir: this.dir ?? null, location: this.location ?? null };
  }
}

export type Result = LocalResult;
