import { checkRunConfigEnv } from "../core/run-env.ts";

/**
 * A run config as it is written (a flow's `runConfig` at registration, `create_flow_run`'s
 * `run_config`, the UI's run form): its `env` may not set the variables core/run-env.ts refuses.
 * `field` names the config in errors (`run_config`, `serialized_flow.runConfig`).
 */
export function checkRunConfig(runConfig: unknown, field: string): void {
  if (runConfig === undefined || runConfig === null || typeof runConfig !== "object" || Array.isArray(runConfig)) return;
  checkRunConfigEnv((runConfig as { env?: unknown }).env, `${field}.env`);
}
