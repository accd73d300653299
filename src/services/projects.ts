import { newId } from "./ids.ts";
import { PrefectliteError, notFoundError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { CreateProjectInput } from "./types.ts";
import { optionalString, requireString, requireUuid } from "./validate.ts";

export function createProjectService(deps: ServiceDeps) {
  async function createProject(input: CreateProjectInput): Promise<{ id: string }> {
    const name = requireString(input.name, "name").trim();
    const description = optionalString(input.description, "description");
    return await deps.store.transaction(async () => {
      const id = newId();
      // Race-free: of two processes creating the same name at once, one inserts, the other is told Conflict.
      const project = await deps.store.projects.insertIfAbsent({ id, name, description }, isoNow(deps));
      if (project.id !== id) throw new PrefectliteError("Conflict", `Project '${name}' already exists`);
      return { id };
    });
  }
  async function updateProject(projectId: string, patch: { name?: string; description?: string | null }): Promise<{ id: string }> {
    const id = requireUuid(projectId, "project_id");
    const change: { name?: string; description?: string | null } = {};
    if (patch.name !== undefined) change.name = requireString(patch.name, "name").trim();
    if (patch.description !== undefined) change.description = optionalString(patch.description, "description");
    return await deps.store.transaction(async () => {
      const outcome = await deps.store.projects.update(id, change, isoNow(deps));
      if (outcome === "missing") throw notFoundError(`Project ${id} not found`);
      if (outcome === "name-taken") throw new PrefectliteError("Conflict", `Project '${change.name}' already exists`);
      return { id };
    });
  }

  /** Delete a project with its flows and their runs. */
  async function deleteProject(projectId: string): Promise<void> {
    const id = requireUuid(projectId, "project_id");
    await deps.store.transaction(async () => {
      if (!(await deps.store.projects.delete(id))) throw notFoundError(`Project ${id} not found`);
    });
  }

  return { createProject, updateProject, deleteProject };
}
