import { refusedRunEnvReason } from "../core/run-env.ts";

import type { BackendLocation } from "../client/backend.ts";

export type { BackendLocation };

/** The variables that say where the backend is. */
export function backendEnvironment(at: BackendLocation): Record<string, string> {
  return {
    ...(at.home ? { PREFECTLITE_HOME: at.home } : {}),
    ...(!at.apiUrl && at.databaseUrl ? { PREFECTLITE_DATABASE_URL: at.databaseUrl } : {}),
    ...(at.apiUrl ? { PREFECTLITE_API_URL: at.apiUrl } : {}),
    ...(at.apiUrl && at.token ? { PREFECTLITE_API_TOKEN: at.token } : {}),
  };
}

/**
 * The environment of a flow run's process: the parent's, then the run config's (names a run may
 * not set — core/run-env.ts — dropped, each named once through `warn`; never its value), then
 * where the backend is, which always wins. A child of the embedded database must not follow a
 * stray PREFECTLITE_API_URL (or token) of the parent's elsewhere: they are removed unless the
 * backend sets them (a token of the parent's goes with the server it names); a child that reports
 * over HTTP is not handed the parent's PREFECTLITE_DATABASE_URL (its password included).
 */
export function flowRunProcessEnv(
  parent: Readonly<Record<string, string | undefined>>,
  runConfigEnv: Readonly<Record<string, unknown>> | null | undefined,
  backend: BackendLocation,
  warn: (line: string) => void,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined) env[k] = v;
  for (const [name, value] of Object.entries(runConfigEnv ?? {})) {
    const why = refusedRunEnvReason(name);
    if (why) {
      warn(`run_config.env sets ${JSON.stringify(name)}, which a run may not set (${why}): the run's process starts without it`);
      continue;
    }
    if (typeof value === "string") {
      if (!value.includes("\0")) env[name] = value;
    } else if (typeof value === "number" || typeof value === "boolean") env[name] = String(value);
  }
  const location = backendEnvironment(backend);
  Object.assign(env, location);
  if (!("PREFECTLITE_API_URL" in location)) {
    delete env.PREFECTLITE_API_URL;
    delete env.PREFECTLITE_API_TOKEN;
  } else delete env.PREFECTLITE_DATABASE_URL;
  return env;
}
