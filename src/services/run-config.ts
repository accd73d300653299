import { validationError } from "../core/errors.ts";
import { RUN_CONFIG_TYPES, type RunConfigType } from "../core/run-config.ts";
import { checkRunConfigEnv } from "../core/run-env.ts";

/**
 * A run config as it is written (a flow's `runConfig` at registration, `create_flow_run`'s
 * `run_config`, the UI's run form): its `env` may not set the variables core/run-env.ts refuses.
 * `reuseProcess`, when set, is a boolean. `field` names the config in errors (`run_config`,
 * `serialized_flow.runConfig`).
 */
export function checkRunConfig(runConfig: unknown, field: string): void {
  if (runConfig === undefined || runConfig === null || typeof runConfig !== "object" || Array.isArray(runConfig)) return;
  checkRunConfigEnv((runConfig as { env?: unknown }).env, `${field}.env`);
  const reuse = (runConfig as { reuseProcess?: unknown }).reuseProcess;
  if (reuse !== undefined && reuse !== null && typeof reuse !== "boolean") throw validationError(`${field}.reuseProcess must be true or false (got ${JSON.stringify(reuse)})`);
}

/** A run config's `type`, when it has one, is LocalRun or UniversalRun (none means UniversalRun). */
export function checkRunConfigType(runConfig: unknown, field: string): void {
  const type = (runConfig as { type?: unknown } | null)?.type;
  if (type === undefined || type === null || RUN_CONFIG_TYPES.includes(type as RunConfigType)) return;
  throw validationError(`${field}.type must be ${RUN_CONFIG_TYPES.join(" or ")} (got ${JSON.stringify(type)})`);
}

/** The run config as stored: with its type (a config without one, from before types, is a UniversalRun). */
export function typedRunConfig<T extends object>(runConfig: T | null): (T & { type: RunConfigType }) | null {
  if (runConfig === null) return null;
  const type = (runConfig as { type?: unknown }).type;
  return { ...runConfig, type: RUN_CONFIG_TYPES.includes(type as RunConfigType) ? (type as RunConfigType) : "UniversalRun" };
}
