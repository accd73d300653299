import { notFoundError } from "../core/errors.ts";
import { isoNow, type ServiceDeps } from "./deps.ts";
import { requireUuid } from "./validate.ts";

/** Runs deleted per transaction when a flow group goes (a big history never holds the writer long). */
const RUNS_PER_TRANSACTION = 100;

/** Moving a flow version to another project, and deleting a whole flow group. */
export function createFlowEditService(deps: ServiceDeps) {
  /** Prefect Server moves the one version given; the others stay where they are. */
  async function updateFlowProject(flowId: string, projectId: string): Promise<{ id: string }> {
    const id = requireUuid(flowId, "flow_id");
    const project = requireUuid(projectId, "project_id");
    return await deps.store.transaction(async () => {
      await deps.store.lock.flow(id, "update");
      if (!(await deps.store.flows.get(id))) throw notFoundError(`Flow ${id} not found`);
      if (!(await deps.store.projects.get(project))) throw notFoundError(`Project ${project} not found`);
      await deps.store.flows.setProject(id, project, isoNow(deps));
      return { id };
    });
  }

  /** Delete a flow group with every version of its flow and all their runs. */
  async function deleteFlowGroup(flowGroupId: string): Promise<void> {
    const id = requireUuid(flowGroupId, "flow_group_id");
    if (!(await deps.store.flows.getGroup(id))) throw notFoundError(`Flow group ${id} not found`);
    if (!deps.store.inTransaction()) {
      for (const flowId of await deps.store.flows.idsInGroup(id)) {
        for (let ids = await deps.store.flowRuns.someRunIds(flowId, RUNS_PER_TRANSACTION); ids.length; ids = await deps.store.flowRuns.someRunIds(flowId, RUNS_PER_TRANSACTION)) {
          await deps.store.transaction(() => deps.store.flowRuns.delete(ids));
        }
      }
    }
    await deps.store.transaction(async () => {
      await deps.store.lock.flowGroup(id);
      if (!(await deps.store.flows.deleteGroup(id))) throw notFoundError(`Flow group ${id} not found`);
    });
  }

  return { updateFlowProject, deleteFlowGroup };
}
