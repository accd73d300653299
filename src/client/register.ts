import type { Flow } from "../core/flow.ts";
import { serializeFlow, serializedHash, type SerializedFlow } from "../core/serialize.ts";
import type { BackendClient } from "./client.ts";

export interface RegisterFlowOptions {
  /** Labels added to the flow's run config (agents must carry them). */
  labels?: string[];
  /** Register a new version even when nothing changed. */
  force?: boolean;
  /** Default: the serialized hash, so registering the same flow twice is a no-op. */
  idempotencyKey?: string;
  /** Activate the flow's schedule (default true). */
  setScheduleActive?: boolean;
}

export interface RegistrationOutcome {
  status: "registered" | "skipped";
  id: string;
  version: number;
  /** Registered with a schedule that could not be activated: why ("parameter 'x' is required and …"). */
  scheduleLeftOff?: string;
}

/** The serialized flow as it will be registered: CLI labels merged into its run config. */
export function serializeForRegistration(flow: Flow, labels: readonly string[] = []): SerializedFlow {
  return withLabels(serializeFlow(flow), labels);
}

function withLabels(serialized: SerializedFlow, labels: readonly string[] = []): SerializedFlow {
  return { ...serialized, runConfig: { ...serialized.runConfig, labels: [...new Set([...serialized.runConfig.labels, ...labels])].sort() } };
}

/**
 * Register a flow in a project: a new version only when its serialized hash differs from the
 * newest version's (unless forced).
 */
export function registerFlow(client: BackendClient, flow: Flow, projectName: string, options: RegisterFlowOptions = {}): Promise<RegistrationOutcome> {
  return registerSerializedFlow(client, serializeFlow(flow), projectName, options);
}

/** {@link registerFlow} for a flow serialized elsewhere (a child process that loaded its file). */
export async function registerSerializedFlow(
  client: BackendClient,
  flow: SerializedFlow,
  projectName: string,
  options: RegisterFlowOptions = {},
): Promise<RegistrationOutcome> {
  const project = await client.requireProject(projectName);
  const serialized = withLabels(flow, options.labels);
  const hash = serializedHash(serialized);
  if (!options.force) {
    const latest = await client.latestFlow(flow.name, projectName);
    if (latest && !latest.archived && latest.serialized_hash === hash) {
      return { status: "skipped", id: latest.id, version: latest.version };
    }
  }
  const created = await client.createFlow({
    serializedFlow: serialized,
    projectId: project.id,
    idempotencyKey: options.force ? undefined : (options.idempotencyKey ?? hash),
    setScheduleActive: options.setScheduleActive,
  });
  const outcome: RegistrationOutcome = { status: "registered", id: created.id, version: created.version };
  if (created.schedule_left_off) outcome.scheduleLeftOff = created.schedule_left_off;
  return outcome;
}
