import { validationError } from "./errors.ts";

/**
 * Run configs, as Prefect's `LocalRun(...)` / `UniversalRun(...)`: where and how a backed run
 * executes. prefectlite has one kind of agent (a local process), so both types run the same
 * way — with their `env` and only on agents carrying all their `labels` — and the `type` says
 * what the flow's author wrote. A plain `{ env, labels }` (and a stored row without a type,
 * from before run configs had one) is a UniversalRun.
 */
export type RunConfigType = "UniversalRun" | "LocalRun";
export const RUN_CONFIG_TYPES: readonly RunConfigType[] = ["UniversalRun", "LocalRun"];

export interface RunConfigOptions {
  /** Environment variables for the process that executes a backed run. */
  env?: Record<string, string>;
  /** Agents must carry all of these labels to take the flow's runs. */
  labels?: string[];
  /**
   * prefectlite's: whether an agent may execute the runs in a reused process (a warm worker that
   * executes runs one after another) — true: yes, even on an agent that gives each run a process
   * of its own by default; false: never, each run gets a process of its own. Unset: as the agent
   * is started (`--runs-per-process`). See the README's "Agents".
   */
  reuseProcess?: boolean;
}

/** The JSON of a run config (the API's `run_config`). */
export interface RunConfigJSON {
  type: RunConfigType;
  env: Record<string, string>;
  labels: string[];
  reuseProcess?: boolean;
}

abstract class BaseRunConfig {
  abstract readonly type: RunConfigType;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: readonly string[];
  readonly reuseProcess: boolean | undefined;

  constructor(options: RunConfigOptions = {}, kind: RunConfigType) {
    if (options === null || typeof options !== "object" || Array.isArray(options)) throw validationError(`${kind} takes { env?, labels?, reuseProcess? }`);
    const unknown = Object.keys(options).filter((k) => k !== "env" && k !== "labels" && k !== "type" && k !== "reuseProcess");
    if (unknown.length) {
      throw validationError(
        `${kind} has no option ${unknown.map((k) => `'${k}'`).join(", ")}: it takes env, labels and reuseProcess (flow runs start in the agent's folder)`,
      );
    }
    if (options.reuseProcess !== undefined && typeof options.reuseProcess !== "boolean") throw validationError(`${kind} reuseProcess must be true or false`);
    this.reuseProcess = options.reuseProcess;
    const env = options.env ?? {};
    if (env === null || typeof env !== "object" || Array.isArray(env) || Object.values(env).some((v) => typeof v !== "string")) {
      throw validationError(`${kind} env must be an object of string values`);
    }
    const labels = options.labels ?? [];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string")) throw validationError(`${kind} labels must be a list of strings`);
    this.env = Object.freeze({ ...env });
    this.labels = Object.freeze([...labels]);
  }

  toJSON(): RunConfigJSON {
    return { type: this.type, env: { ...this.env }, labels: [...this.labels], ...(this.reuseProcess === undefined ? {} : { reuseProcess: this.reuseProcess }) };
  }
}

/** Runs on any agent whose labels cover the config's (Prefect's default run config). */
export class UniversalRun extends BaseRunConfig {
  readonly type = "UniversalRun" as const;
  constructor(options: RunConfigOptions = {}) {
    super(options, "UniversalRun");
  }
}

/** Prefect's run config for a local agent; here the same as UniversalRun (see above). */
export class LocalRun extends BaseRunConfig {
  readonly type = "LocalRun" as const;
  constructor(options: RunConfigOptions = {}) {
    super(options, "LocalRun");
  }
}

export type RunConfig = UniversalRun | LocalRun;

/** What a flow's `runConfig` option takes: a run config, or a plain `{ env, labels }` (a UniversalRun). */
export type RunConfigInput = RunConfig | (RunConfigOptions & { type?: RunConfigType });

/** A run config from an option or a stored JSON row; no type means UniversalRun, an unknown type is refused. */
export function toRunConfig(value: RunConfigInput | RunConfigJSON | null | undefined): RunConfig {
  if (value instanceof UniversalRun || value instanceof LocalRun) return value;
  const { type, ...options } = (value ?? {}) as RunConfigOptions & { type?: unknown };
  if (type === undefined || type === null || type === "UniversalRun") return new UniversalRun(options);
  if (type === "LocalRun") return new LocalRun(options);
  throw validationError(`unknown run config type ${JSON.stringify(type)}: use ${RUN_CONFIG_TYPES.join(" or ")}`);
}

/**
 * A stored run config as a view shows it: never throws (a row is what it is); fields it does not
 * know, and values of the wrong shape, are left out. null stays null (the run has none).
 */
export function runConfigFromRow(value: unknown): RunConfig | null {
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value)) return null;
  const row = value as { type?: unknown; env?: unknown; labels?: unknown; reuseProcess?: unknown };
  const env =
    row.env && typeof row.env === "object" && !Array.isArray(row.env)
      ? Object.fromEntries(Object.entries(row.env).filter(([, v]) => typeof v === "string"))
      : {};
  const labels = Array.isArray(row.labels) ? row.labels.filter((l): l is string => typeof l === "string") : [];
  const reuseProcess = typeof row.reuseProcess === "boolean" ? row.reuseProcess : undefined;
  return row.type === "LocalRun" ? new LocalRun({ env, labels, reuseProcess }) : new UniversalRun({ env, labels, reuseProcess });
}
