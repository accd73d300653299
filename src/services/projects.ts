import { newId } from "./ids.ts";
import { PrefectliteError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import type { CreateProjectInput } from "./types.ts";
import { optionalString, requireString } from "./validate.ts";

export function createProjectService(deps: ServiceDeps) {
  function createProject(input: CreateProjectInput): { id: string } {
    const name = requireString(input.name, "name").trim();
    const description = optionalString(input.description, "description");
    return deps.store.transaction(() => {
      if (deps.store.projects.findByName(name)) throw new PrefectliteError("Conflict", `Project '${name}' already exists`);
      const id = newId();
      deps.store.projects.insert({ id, name, description }, isoNow(deps));
      return { id };
    });
  }
  return { createProject };
}
