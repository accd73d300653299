import { isPrefectliteError, validationError } from "../core/errors.ts";
import { DEFAULT_TENANT } from "../core/tenant.ts";
import type { FlowGroupSetting, Services, TaskRunInfo } from "../services/index.ts";
import { notSupportedError, uniquenessViolationError } from "./errors.ts";

export { mutationTypeDefs } from "./mutation-sdl.ts";

/** What the resolvers need from the GraphQL context (the server adds more). */
export interface MutationContext {
  services: Services;
  /** From the `X-Prefect-Agent-Id` header. */
  agentId: string | undefined;
  /** From Prefect's `X-Prefect-Core-Version` header: the caller is Prefect Core. */
  prefectCoreVersion?: string | undefined;
  /** Aborts when the request's client goes away. */
  signal?: AbortSignal;
}

type Input = Record<string, any>;
type Resolver = (parent: unknown, args: { input: Input }, context: MutationContext) => unknown;

const SUCCESS = { success: true, error: null };

function taskRunInfo(r: TaskRunInfo) {
  return {
    id: r.id,
    flow_run_id: r.flowRunId,
    task_id: r.taskId,
    task_slug: r.taskSlug,
    map_index: r.mapIndex,
    version: r.version,
    state: r.state,
    serialized_state: r.serializedState,
  };
}

async function createFlowRun(i: Input, services: Services) {
  return (await services.createFlowRun({
    flowId: i.flowId,
    versionGroupId: i.versionGroupId,
    flowGroupId: i.flowGroupId,
    parameters: i.parameters,
    context: i.context,
    labels: i.labels,
    flowRunName: i.flowRunName,
    scheduledStartTime: i.scheduledStartTime,
    idempotencyKey: i.idempotencyKey,
    runConfig: i.runConfig,
  }));
}

async function createFlow(i: Input, services: Services, compressed: boolean) {
  const created = await services.createFlow({
    serializedFlow: i.serialized_flow,
    compressed,
    projectId: i.project_id,
    versionGroupId: i.version_group_id,
    idempotencyKey: i.idempotency_key,
    setScheduleActive: i.set_schedule_active,
    description: i.description,
  });
  return { ...created, schedule_left_off: created.scheduleLeftOff ?? null };
}

function flowSetting(setting: FlowGroupSetting, enabled: boolean): Resolver {
  return async (_p, { input }, { services }) => {
    await services.setFlowGroupSetting(input.flow_id, setting, enabled);
    return SUCCESS;
  };
}

/** `tenant_id` where Prefect Server has it: absent, or the one default tenant's id. */
function checkTenant(i: Input): void {
  const id = i.tenant_id;
  if (id === undefined || id === null || id === DEFAULT_TENANT.id) return;
  throw validationError(`tenant_id ${id} is not a tenant here: prefectlite has one tenant, ${DEFAULT_TENANT.id}`);
}

/** A project name that is taken, as Prefect's client and UI expect to be told. */
async function projectNameUnique<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (isPrefectliteError(e) && e.code === "Conflict") throw uniquenessViolationError(e.message);
    throw e;
  }
}

function unsupported(operation: string, why: string): Resolver {
  return () => {
    throw notSupportedError(operation, why);
  };
}

const ONE_TENANT = "prefectlite has one tenant";
const NO_CLOUD_HOOKS = "prefectlite sends no state-change notifications (cloud hooks)";
const NO_MESSAGES = "prefectlite has no messages";
const NO_SECRETS = "secrets are Prefect Cloud's";
const NO_TAG_LIMITS = "task concurrency limits are Prefect Cloud's";

/** Services that answer nothing, as Prefect's success_payload. */
function succeeds<A extends unknown[]>(work: (...args: A) => Promise<unknown>) {
  return async (...args: A) => ((await work(...args)), SUCCESS);
}

/**
 * Edits of one flow run or task run, answered as Prefect Server did for an unknown id:
 * `success: false` (Prefect's `Client.set_flow_run_name` returns it), the reason in `error`.
 */
function succeedsIfFound<A extends unknown[]>(work: (...args: A) => Promise<unknown>) {
  return async (...args: A) => {
    try {
      await work(...args);
      return SUCCESS;
    } catch (e) {
      if (isPrefectliteError(e) && e.code === "NotFound") return { success: false, error: e.message };
      throw e;
    }
  };
}

function lookup(i: Input) {
  return { flowRunId: i.flow_run_id, taskId: i.task_id, taskSlug: i.task_slug, mapIndex: i.map_index };
}

/** Resolvers: parse the input, call one service, shape the payload. Every rule lives in services. */
export const mutationResolvers: { Query: Record<string, Resolver>; Mutation: Record<string, Resolver> } = {
  // A query, not a mutation: a mutation document runs in one store transaction, which a wait
  // must never hold.
  Query: {
    wait_for_flow_runs: async (_p, { input }, { services, signal }) => services.waitForRuns({ labels: input.labels, waitMs: input.wait_ms, signal }),
    get_task_run_info: async (_p, args, { services }) => taskRunInfo(await services.getTaskRunInfo((args as unknown as Input).task_run_id)),
    mapped_children: async (_p, args, { services }) => {
      const m = await services.mappedChildren((args as unknown as Input).task_run_id);
      return { min_start_time: m.minStartTime, max_end_time: m.maxEndTime, state_counts: m.stateCounts };
    },
  },
  Mutation: {
    create_project: async (_p, { input }, { services }) => {
      checkTenant(input);
      return projectNameUnique(() => services.createProject({ name: input.name, description: input.description }));
    },
    set_project_name: async (_p, { input }, { services }) => projectNameUnique(() => services.updateProject(input.project_id, { name: input.name })),
    set_project_description: async (_p, { input }, { services }) => services.updateProject(input.project_id, { description: input.description ?? null }),
    delete_project: async (_p, { input }, { services }) => succeeds(services.deleteProject)(input.project_id),
    create_flow: async (_p, { input }, { services }) => createFlow(input, services, false),
    create_flow_from_compressed_string: async (_p, { input }, { services }) => createFlow(input, services, true),
    register_tasks: async (_p, { input }, { services }) => ((await services.registerTasks({ flowId: input.flow_id, entries: input.serialized_tasks })), SUCCESS),
    register_edges: async (_p, { input }, { services }) => ((await services.registerEdges({ flowId: input.flow_id, entries: input.serialized_edges })), SUCCESS),
    archive_flow: async (_p, { input }, { services }) => ((await services.archiveFlow(input.flow_id)), { id: String(input.flow_id).toLowerCase(), ...SUCCESS }),
    delete_flow: async (_p, { input }, { services }) => ((await services.deleteFlow(input.flow_id)), SUCCESS),
    update_flow_project: async (_p, { input }, { services }) => services.updateFlowProject(input.flow_id, input.project_id),
    create_flow_run: async (_p, { input: i }, { services }) =>
      createFlowRun(
        {
          flowId: i.flow_id,
          versionGroupId: i.version_group_id,
          flowGroupId: i.flow_group_id,
          parameters: i.parameters,
          context: i.context,
          labels: i.labels,
          flowRunName: i.flow_run_name,
          scheduledStartTime: i.scheduled_start_time,
          idempotencyKey: i.idempotency_key,
          runConfig: i.run_config,
        },
        services,
      ),
    set_flow_run_name: async (_p, { input }, { services }) => succeedsIfFound(services.setFlowRunName)(input.flow_run_id, input.name),
    set_task_run_name: async (_p, { input }, { services }) => succeedsIfFound(services.setTaskRunName)(input.task_run_id, input.name),
    set_flow_run_labels: async (_p, { input }, { services }) => succeedsIfFound(services.setFlowRunLabels)(input.flow_run_id, input.labels),
    delete_flow_run: async (_p, { input }, { services }) => succeedsIfFound(services.deleteFlowRun)(input.flow_run_id),
    set_flow_run_states: async (_p, { input }, { services, agentId }) => ({
      states: (await services.setFlowRunStates(
        input.states.map((s: Input) => ({ flowRunId: s.flow_run_id, version: s.version, state: s.state, rerun: s.rerun === true, writeId: s.write_id ?? undefined })),
        { agentId },
      )),
    }),
    set_task_run_states: async (_p, { input }, { services }) => ({
      states: (await services.setTaskRunStates(
        input.states.map((s: Input) => ({ taskRunId: s.task_run_id, version: s.version, state: s.state, rerun: s.rerun === true, writeId: s.write_id ?? undefined })),
      )),
    }),
    cancel_flow_run: async (_p, { input }, { services }) => services.cancelFlowRun(input.flow_run_id),
    restart_flow_run: async (_p, { input }, { services }) => {
      const r = await services.restartFlowRun({ flowRunId: input.flow_run_id, restartedBy: input.restarted_by, agentless: input.agentless === true });
      return { ...r, restarted_task_runs: r.restartedTaskRuns, kept_task_runs: r.keptTaskRuns };
    },
    end_abandoned_flow_run: async (_p, { input }, { services }) =>
      (await services.endAbandonedRun({ flowRunId: input.flow_run_id, state: input.state, message: input.message, logger: input.logger ?? undefined })),
    write_run_logs: async (_p, { input }, { services }) => ({ ...SUCCESS, problems: [], ...(await services.writeRunLogs(input.logs)) }),
    register_agent: async (_p, { input }, { services, prefectCoreVersion }) => {
      checkTenant(input);
      return await services.registerAgent({
        type: input.type,
        name: input.name,
        labels: input.labels,
        coreVersion: input.core_version ?? prefectCoreVersion,
        agentConfigId: input.agent_config_id,
      });
    },
    delete_agent: async (_p, { input }, { services }) => succeeds(services.deleteAgent)(input.agent_id),
    create_agent_config: async (_p, { input }, { services }) => {
      checkTenant(input);
      return await services.createAgentConfig({ name: input.name, settings: input.settings });
    },
    delete_agent_config: async (_p, { input }, { services }) => succeeds(services.deleteAgentConfig)(input.agent_config_id),
    update_agent_config: async (_p, { input }, { services }) =>
      succeeds(services.updateAgentConfig)({ agentConfigId: input.agent_config_id, name: input.name, settings: input.settings }),
    get_runs_in_queue: async (_p, { input }, { services, agentId, prefectCoreVersion }) => {
      checkTenant(input);
      // Prefect's agent executes Python flows only: it is shown no run of a TypeScript flow.
      return {
        flow_run_ids: await services.getRunsInQueue({
          labels: input.labels,
          before: input.before,
          agentId: input.agent_id ?? agentId,
          runtime: prefectCoreVersion ? "python" : undefined,
        }),
      };
    },
    claim_flow_runs: async (_p, { input }, { services, agentId }) => {
      const id = input.agent_id ?? agentId;
      if (!id) throw validationError("claim_flow_runs needs agent_id (or the X-Prefect-Agent-Id header)");
      const runs = await services.claimRuns({ agentId: id, labels: input.labels, limit: input.limit, before: input.before });
      return {
        flow_runs: runs.map((r) => ({
          id: r.id,
          flow_id: r.flowId,
          version: r.version,
          previous_state: r.previousState,
          scheduled_start_time: r.scheduledStartTime,
          run_config: r.runConfig ?? null,
        })),
      };
    },
    update_flow_run_heartbeat: async (_p, { input }, { services }) => ((await services.updateFlowRunHeartbeat(input.flow_run_id)), SUCCESS),
    update_task_run_heartbeat: async (_p, { input }, { services }) => ((await services.updateTaskRunHeartbeat(input.task_run_id)), SUCCESS),
    enable_flow_heartbeat: flowSetting("heartbeat_enabled", true),
    disable_flow_heartbeat: flowSetting("heartbeat_enabled", false),
    enable_flow_lazarus_process: flowSetting("lazarus_enabled", true),
    disable_flow_lazarus_process: flowSetting("lazarus_enabled", false),
    enable_flow_version_lock: flowSetting("version_locking_enabled", true),
    disable_flow_version_lock: flowSetting("version_locking_enabled", false),
    set_schedule_active: async (_p, { input }, { services }) => {
      const active = await services.setScheduleActive({ flowId: input.flow_id, scheduleId: input.schedule_id });
      return active ? SUCCESS : { success: false, error: "The flow has no schedule (neither the flow nor its flow group)." };
    },
    set_schedule_inactive: async (_p, { input }, { services }) => {
      await services.setScheduleInactive({ flowId: input.flow_id, scheduleId: input.schedule_id });
      return SUCCESS;
    },
    set_flow_group_default_parameters: async (_p, { input }, { services }) => {
      await services.setFlowGroupDefaultParameters(input.flow_group_id, input.parameters);
      return SUCCESS;
    },
    set_flow_group_labels: async (_p, { input }, { services }) => {
      await services.setFlowGroupLabels(input.flow_group_id, input.labels ?? null);
      return SUCCESS;
    },
    set_flow_group_schedule: async (_p, { input }, { services }) => {
      const clock = (c: Input) => ({ parameterDefaults: c.parameter_defaults ?? undefined, labels: c.labels ?? null });
      (await services.setFlowGroupSchedule({
        flowGroupId: input.flow_group_id,
        cronClocks: (input.cron_clocks ?? []).map((c: Input) => ({ cron: c.cron, ...clock(c) })),
        intervalClocks: (input.interval_clocks ?? []).map((c: Input) => ({ interval: c.interval, ...clock(c) })),
        timezone: input.timezone,
      }));
      return SUCCESS;
    },
    delete_flow_group_schedule: async (_p, { input }, { services }) => {
      await services.deleteFlowGroupSchedule(input.flow_group_id);
      return SUCCESS;
    },
    set_flow_group_description: async (_p, { input }, { services }) => succeeds(services.setFlowGroupDescription)(input.flow_group_id, input.description ?? null),
    set_flow_group_run_config: async (_p, { input }, { services }) => succeeds(services.setFlowGroupRunConfig)(input.flow_group_id, input.run_config ?? null),
    delete_flow_group: async (_p, { input }, { services }) => succeeds(services.deleteFlowGroup)(input.flow_group_id),
    get_or_create_task_run: async (_p, { input }, { services }) => ({ id: (await services.getOrCreateTaskRunInfo(lookup(input))).id }),
    get_or_create_task_run_info: async (_p, { input }, { services }) => taskRunInfo((await services.getOrCreateTaskRunInfo(lookup(input)))),
    get_or_create_mapped_task_runs: async (_p, { input }, { services }) => ({
      task_runs: (
        await services.getOrCreateMappedTaskRuns({ flowRunId: input.flow_run_id, taskId: input.task_id, taskSlug: input.task_slug, count: input.count, start: input.start })
      ).map(taskRunInfo),
    }),
    create_tenant: unsupported("create_tenant", ONE_TENANT),
    delete_tenant: unsupported("delete_tenant", ONE_TENANT),
    update_tenant_name: unsupported("update_tenant_name", ONE_TENANT),
    update_tenant_slug: unsupported("update_tenant_slug", ONE_TENANT),
    update_tenant_settings: unsupported("update_tenant_settings", ONE_TENANT),
    create_cloud_hook: unsupported("create_cloud_hook", NO_CLOUD_HOOKS),
    test_cloud_hook: unsupported("test_cloud_hook", NO_CLOUD_HOOKS),
    delete_cloud_hook: unsupported("delete_cloud_hook", NO_CLOUD_HOOKS),
    set_cloud_hook_active: unsupported("set_cloud_hook_active", NO_CLOUD_HOOKS),
    set_cloud_hook_inactive: unsupported("set_cloud_hook_inactive", NO_CLOUD_HOOKS),
    mark_message_as_read: unsupported("mark_message_as_read", NO_MESSAGES),
    mark_message_as_unread: unsupported("mark_message_as_unread", NO_MESSAGES),
    delete_message: unsupported("delete_message", NO_MESSAGES),
    set_secret: unsupported("set_secret", NO_SECRETS),
    delete_secret: unsupported("delete_secret", NO_SECRETS),
    update_task_tag_limit: unsupported("update_task_tag_limit", NO_TAG_LIMITS),
    delete_task_tag_limit: unsupported("delete_task_tag_limit", NO_TAG_LIMITS),
    createFlowRun: async (_p, { input }, { services }) => createFlowRun(input, services),
    setFlowRunState: async (_p, { input }, { services, agentId }) =>
      (await services.setFlowRunStates([{ flowRunId: input.flowRunId, version: input.version, state: input.state, rerun: input.rerun === true }], {
        agentId,
      }))[0],
  },
};

// Task run artifacts (Prefect Server's create/update/delete_task_run_artifact).
Object.assign(mutationResolvers.Mutation, {
  create_task_run_artifact: async (_p, { input }, { services }) =>
    services.createTaskRunArtifact({ taskRunId: input.task_run_id, kind: input.kind, data: input.data, tenantId: input.tenant_id }),
  update_task_run_artifact: async (_p, { input }, { services }) => {
    await services.updateTaskRunArtifact(input.task_run_artifact_id, input.data);
    return SUCCESS;
  },
  delete_task_run_artifact: async (_p, { input }, { services }) => {
    await services.deleteTaskRunArtifact(input.task_run_artifact_id);
    return SUCCESS;
  },
} satisfies Record<string, Resolver>);
