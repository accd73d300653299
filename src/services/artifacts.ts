import { DEFAULT_TENANT } from "../core/tenant.ts";
import { notFoundError, validationError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { newId } from "./ids.ts";
import { requireJsonDepth, requireString, requireUuid } from "./validate.ts";

/** Prefect Server refused an artifact's data past 1 MB; so does prefectlite (UTF-8 bytes of its JSON). */
export const MAX_ARTIFACT_BYTES = 1_000_000;
const MAX_KIND_LENGTH = 200;

export interface CreateTaskRunArtifactInput {
  taskRunId: unknown;
  kind: unknown;
  data: unknown;
  tenantId?: unknown;
}

function artifactData(value: unknown): unknown {
  if (value === undefined || value === null) throw validationError("data is required (any JSON value but null)");
  requireJsonDepth(value, "data");
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > MAX_ARTIFACT_BYTES) throw validationError(`data is ${bytes} bytes of JSON, more than an artifact may hold (${MAX_ARTIFACT_BYTES})`);
  return value;
}

/** Task run artifacts (links, markdown) as Prefect Server kept them: stored as given, shown by the UI. */
export function createArtifactService(deps: ServiceDeps) {
  async function createTaskRunArtifact(input: CreateTaskRunArtifactInput): Promise<{ id: string }> {
    const taskRunId = requireUuid(input.taskRunId, "task_run_id");
    const kind = requireString(input.kind, "kind");
    if (kind.length > MAX_KIND_LENGTH) throw validationError(`kind is longer than ${MAX_KIND_LENGTH} characters`);
    if (input.tenantId !== undefined && input.tenantId !== null && requireUuid(input.tenantId, "tenant_id") !== DEFAULT_TENANT.id) {
      throw validationError(`tenant_id ${input.tenantId} is not this server's tenant (${DEFAULT_TENANT.id})`);
    }
    const data = artifactData(input.data);
    return await deps.store.transaction(async () => {
      if (!(await deps.store.taskRuns.get(taskRunId))) throw notFoundError(`Task run ${taskRunId} not found`);
      const id = newId();
      await deps.store.artifacts.insert({ id, taskRunId, kind, data }, isoNow(deps));
      return { id };
    });
  }

  async function updateTaskRunArtifact(id: unknown, data: unknown): Promise<void> {
    const artifactId = requireUuid(id, "task_run_artifact_id");
    const value = artifactData(data);
    await deps.store.transaction(async () => {
      if (!(await deps.store.artifacts.update(artifactId, value, isoNow(deps)))) throw notFoundError(`Task run artifact ${artifactId} not found`);
    });
  }

  async function deleteTaskRunArtifact(id: unknown): Promise<void> {
    const artifactId = requireUuid(id, "task_run_artifact_id");
    await deps.store.transaction(async () => {
      if (!(await deps.store.artifacts.delete(artifactId))) throw notFoundError(`Task run artifact ${artifactId} not found`);
    });
  }

  return { createTaskRunArtifact, updateTaskRunArtifact, deleteTaskRunArtifact };
}
