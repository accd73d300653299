import { newId } from "./ids.ts";
import { PrefectliteError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { CreateProjectInput } from "./types.ts";
import { optionalString, requireString } from "./validate.ts";

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
  return { createProject };
}
