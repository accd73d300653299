import { notFoundError, validationError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { newId } from "./ids.ts";
import { describe, isPlainObject, optionalString, requireJsonDepth, requireUuid } from "./validate.ts";

/** An agent config's settings are read by an agent at every start: at most this much JSON (UTF-8 bytes). */
export const MAX_AGENT_CONFIG_BYTES = 1_000_000;

export interface CreateAgentConfigInput {
  name?: unknown;
  settings?: unknown;
}

export interface UpdateAgentConfigInput {
  agentConfigId: unknown;
  name?: unknown;
  settings?: unknown;
}

/** Settings as Server kept them: a JSON object (absent: {}). */
function configSettings(value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw validationError(`settings must be a JSON object, got ${describe(value)}`);
  requireJsonDepth(value, "settings");
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > MAX_AGENT_CONFIG_BYTES) throw validationError(`settings is ${bytes} bytes of JSON, more than an agent config may hold (${MAX_AGENT_CONFIG_BYTES})`);
  return value;
}

/**
 * Prefect Server's agent configs: named settings that Prefect's agents started with
 * `--agent-config-id` read (Client.get_agent_config) and register with (register_agent).
 */
export function createAgentConfigService(deps: ServiceDeps) {
  async function createAgentConfig(input: CreateAgentConfigInput): Promise<{ id: string }> {
    const name = optionalString(input.name, "name");
    const settings = input.settings === undefined || input.settings === null ? {} : configSettings(input.settings);
    const id = newId();
    await deps.store.transaction(() => deps.store.agentConfigs.insert({ id, name, settings }, isoNow(deps)));
    return { id };
  }

  /** Only the fields given change (a null one is left as it is, as on Server). */
  async function updateAgentConfig(input: UpdateAgentConfigInput): Promise<void> {
    const id = requireUuid(input.agentConfigId, "agent_config_id");
    const name = optionalString(input.name, "name");
    const settings = input.settings === undefined || input.settings === null ? undefined : configSettings(input.settings);
    const patch = { ...(name !== null ? { name } : {}), ...(settings !== undefined ? { settings } : {}) };
    await deps.store.transaction(async () => {
      if (!(await deps.store.agentConfigs.update(id, patch, isoNow(deps)))) throw notFoundError(`Agent config ${id} not found`);
    });
  }

  /** Agents registered with it keep running, linked to no config. */
  async function deleteAgentConfig(agentConfigId: unknown): Promise<void> {
    const id = requireUuid(agentConfigId, "agent_config_id");
    await deps.store.transaction(async () => {
      if (!(await deps.store.agentConfigs.delete(id))) throw notFoundError(`Agent config ${id} not found`);
    });
  }

  return { createAgentConfig, updateAgentConfig, deleteAgentConfig };
}
