/**
 * The GraphQL mutations of SPEC §4 as Prefect Server's GraphQL service declares them: every
 * mutation takes one `input` of its own type with Server's name (`cancel_flow_run_input`, …),
 * ids as `UUID` where Server has UUID, times as `DateTime`, and `tenant_id` where Server has it
 * (the one default tenant only). Fields and mutations of prefectlite's own (write_id, rerun,
 * claim_flow_runs, restart_flow_run, the camelCase ones, …) sit beside them. `JSON`, `UUID` and
 * `DateTime` are the scalars of scalars.ts.
 */
export const mutationTypeDefs = /* GraphQL */ `
type success_payload { success: Boolean!, error: String }
type flow_id_payload { id: UUID! }
type project_id_payload { id: UUID! }
type agent_id_payload { id: UUID! }
type task_run_id_payload { id: UUID! }
type tenant_id_payload { id: UUID }
type agent_config_id_payload { id: UUID }
type cloud_hook_id_payload { id: UUID }
"Prefect's archive_flow answers with success; prefectlite adds the flow's id."
type archive_flow_payload { id: UUID!, success: Boolean!, error: String }

"tenant_id: the one default tenant's id (optional; any other is refused)"
input create_project_input { tenant_id: UUID, name: String!, description: String }
input set_project_name_input { project_id: UUID!, name: String! }
input set_project_description_input { project_id: UUID!, description: String }
"Deletes the project's flows and their runs too."
input delete_project_input { project_id: UUID! }

"serialized_flow: prefectlite's Flow.serialize(), or Prefect Core's flow.serialize() (a Python flow)"
input create_flow_input {
  serialized_flow: JSON!
  project_id: UUID!
  version_group_id: String
  idempotency_key: String
  set_schedule_active: Boolean
  description: String
}
"Prefect Core's form: serialized_flow is base64 of gzip of the flow's JSON"
input create_flow_from_compressed_string_input {
  serialized_flow: String!
  project_id: UUID!
  version_group_id: String
  idempotency_key: String
  set_schedule_active: Boolean
  description: String
}
"Prefect Core's serialized task entries, added to a flow registered in Prefect's form (a slug it has is skipped)"
input register_tasks_input { flow_id: UUID!, serialized_tasks: JSON! }
"Prefect Core's serialized edges ({ upstream_task: { slug }, downstream_task: { slug }, key, mapped })"
input register_edges_input { flow_id: UUID!, serialized_edges: JSON! }
type create_flow_payload {
  id: UUID!
  version: Int!
  created: Boolean!
  "Why the flow's schedule was left off although set_schedule_active asked for it (null: activated, or no schedule)"
  schedule_left_off: String
}

input archive_flow_input { flow_id: UUID! }
input delete_flow_input { flow_id: UUID! }
input update_flow_project_input { flow_id: UUID!, project_id: UUID! }
input enable_flow_heartbeat_input { flow_id: UUID! }
input disable_flow_heartbeat_input { flow_id: UUID! }
input enable_flow_lazarus_process_input { flow_id: UUID! }
input disable_flow_lazarus_process_input { flow_id: UUID! }
input enable_flow_version_lock_input { flow_id: UUID! }
input disable_flow_version_lock_input { flow_id: UUID! }
input update_flow_run_heartbeat_input { flow_run_id: UUID! }
input update_task_run_heartbeat_input { task_run_id: UUID! }
input cancel_flow_run_input { flow_run_id: UUID! }
"Deletes the run's task runs, states and logs too, in one transaction."
input delete_flow_run_input { flow_run_id: UUID! }
"name: non-empty"
input set_flow_run_name_input { flow_run_id: UUID!, name: String! }
"name: non-empty"
input set_task_run_name_input { task_run_id: UUID!, name: String! }
"labels: stored sorted and deduplicated"
input set_flow_run_labels_input { flow_run_id: UUID!, labels: [String!]! }

"flow_group_id: prefectlite's own (the group's newest unarchived flow)"
input create_flow_run_input {
  flow_id: UUID
  version_group_id: String
  flow_group_id: UUID
  parameters: JSON
  context: JSON
  labels: [String!]
  flow_run_name: String
  scheduled_start_time: DateTime
  idempotency_key: String
  run_config: JSON
}
"created: false when the idempotency key returned an existing run"
type create_flow_run_payload { id: UUID!, created: Boolean! }

"write_id: the writer's UUID for this write; a write whose id is stored already is not made again (a retry after a lost answer), and returns the version it made"
input set_flow_run_state_input { flow_run_id: UUID!, version: Int, state: JSON!, rerun: Boolean, write_id: String }
input set_flow_run_states_input { states: [set_flow_run_state_input!]! }
"write_id: the writer's UUID for this write; a write whose id is stored already is not made again (a retry after a lost answer), and returns the version it made"
input set_task_run_state_input { task_run_id: UUID!, version: Int, state: JSON!, rerun: Boolean, flow_run_version: Int, write_id: String }
input set_task_run_states_input { states: [set_task_run_state_input!]! }
"version: the run's version after the write (prefectlite's)"
type set_flow_run_state_payload { id: UUID!, status: String!, message: String, version: Int! }
type set_flow_run_states_payload { states: [set_flow_run_state_payload!]! }
"version: the run's version after the write (prefectlite's)"
type set_task_run_state_payload { id: UUID!, status: String!, message: String, version: Int! }
type set_task_run_states_payload { states: [set_task_run_state_payload!]! }
type state_write_result { id: String!, status: String!, message: String, version: Int! }

type cancel_flow_run_payload { state: String! }

input restart_flow_run_input {
  flow_run_id: String!
  "who restarted it, for the state history (one line)"
  restarted_by: String
  "true: the caller executes the run itself; it gets a fresh agentless-run-<8 hex> label so no agent takes it"
  agentless: Boolean
}
type restart_flow_run_payload {
  id: String!
  state: String!
  version: Int!
  message: String!
  labels: [String!]!
  restarted_task_runs: Int!
  kept_task_runs: Int!
}
"state: Failed or Cancelled; logger: the name of the ERROR log line saying why"
input end_abandoned_flow_run_input { flow_run_id: String!, state: String!, message: String!, logger: String }
type end_abandoned_flow_run_payload { state: String!, changed: Boolean! }

"level: DEBUG, INFO, WARNING, ERROR or CRITICAL"
input write_run_log_input {
  flow_run_id: UUID!
  task_run_id: UUID
  timestamp: DateTime
  name: String
  level: String
  message: String
  info: JSON
  "The writer's UUID for this line: a line whose id is stored already is not stored again (a retry after a lost answer)"
  write_id: String
}
input write_run_logs_input { logs: [write_run_log_input!]! }
type write_run_logs_payload { success: Boolean!, error: String, written: Int!, skipped: Int!, problems: [String!]! }

"agent_config_id: an existing agent config, linked to the agent; tenant_id: the default tenant's only"
input register_agent_input { tenant_id: UUID, type: String!, name: String, labels: [String!], agent_config_id: UUID, core_version: String }
input delete_agent_input { agent_id: UUID! }
"settings: a JSON object (default {}); tenant_id: the default tenant's only (optional)"
input create_agent_config_input { tenant_id: UUID, name: String, settings: JSON }
"Agents linked to the config keep running, linked to none."
input delete_agent_config_input { agent_config_id: UUID! }
"Only the fields given change."
input update_agent_config_input { agent_config_id: UUID!, name: String, settings: JSON }

input get_runs_in_queue_input { tenant_id: UUID, before: DateTime, labels: [String!], agent_id: UUID }
type runs_in_queue_payload { flow_run_ids: [String!]! }

input wait_for_flow_runs_input { labels: [String!], wait_ms: Int! }
type wait_for_flow_runs_payload { due: Boolean! }
input claim_flow_runs_input { agent_id: String, labels: [String!], limit: Int!, before: String }
"run_config: the run's run config (the agent starts its process with it)"
type claimed_flow_run { id: String!, flow_id: String!, version: Int!, previous_state: String!, scheduled_start_time: String!, run_config: JSON }
type claim_flow_runs_payload { flow_runs: [claimed_flow_run!]! }

"flow_id: that flow's schedule; schedule_id (prefectlite's): a flow id or a flow group id (the schedule of its newest unarchived version; a flow group's schedule overrides its flows'). One of them."
input set_schedule_active_input { flow_id: UUID, schedule_id: UUID }
"flow_id: that flow's schedule; schedule_id (prefectlite's): a flow id or a flow group id. One of them."
input set_schedule_inactive_input { flow_id: UUID, schedule_id: UUID }
input set_flow_group_default_parameters_input { flow_group_id: UUID!, parameters: JSON! }
"labels null: unset (runs take their run config's labels); []: no labels"
input set_flow_group_labels_input { flow_group_id: UUID!, labels: [String!] }
"description null clears it"
input set_flow_group_description_input { flow_group_id: UUID!, description: String }
"run_config null clears it; else it overrides the flow's for new runs"
input set_flow_group_run_config_input { flow_group_id: UUID!, run_config: JSON }
"Deletes every flow version of the group and their runs."
input delete_flow_group_input { flow_group_id: UUID! }
input cron_clock_input { cron: String!, parameter_defaults: JSON, labels: [String!] }
"interval in seconds"
input interval_clock_input { interval: Float!, parameter_defaults: JSON, labels: [String!] }
input set_flow_group_schedule_input {
  flow_group_id: UUID!
  cron_clocks: [cron_clock_input!]
  interval_clocks: [interval_clock_input!]
  "IANA name for the cron clocks"
  timezone: String
}
input delete_flow_group_schedule_input { flow_group_id: UUID! }

"task_slug: prefectlite's alternative to task_id; map_index null or -1: not mapped"
input get_or_create_task_run_input { flow_run_id: UUID!, task_id: UUID, task_slug: String, map_index: Int }
"task_slug: prefectlite's alternative to task_id; map_index null or -1: not mapped"
input get_or_create_task_run_info_input { flow_run_id: UUID!, task_id: UUID, task_slug: String, map_index: Int }
type task_run_info_payload {
  id: UUID!
  flow_run_id: UUID!
  task_id: UUID!
  task_slug: String!
  map_index: Int!
  version: Int!
  state: String!
  serialized_state: JSON!
}
input get_or_create_mapped_task_runs_input { flow_run_id: String!, task_id: String, task_slug: String, count: Int!, start: Int }
type get_or_create_mapped_task_runs_payload { task_runs: [task_run_info_payload!]! }
"The children (map index >= 0) of a mapped task run: earliest start, latest end, how many are in each state."
type mapped_children_payload { min_start_time: DateTime, max_end_time: DateTime, state_counts: JSON! }

input create_tenant_input { name: String!, slug: String! }
input delete_tenant_input { confirm: Boolean!, tenant_id: UUID! }
input update_tenant_name_input { tenant_id: UUID!, name: String! }
input update_tenant_slug_input { tenant_id: UUID!, slug: String! }
input update_tenant_settings_input { tenant_id: UUID!, settings: JSON }

enum cloud_hook_type { PAGERDUTY SLACK_WEBHOOK TWILIO WEBHOOK PREFECT_MESSAGE }
enum test_cloud_hook_state_type { SCHEDULED SUBMITTED SUCCESS RUNNING FAILED }
input create_cloud_hook_input { tenant_id: UUID, type: cloud_hook_type!, name: String, version_group_id: String, states: [String!]!, config: JSON }
input test_cloud_hook_input { cloud_hook_id: UUID!, flow_run_id: UUID, state_type: test_cloud_hook_state_type }
input delete_cloud_hook_input { cloud_hook_id: UUID! }
input set_cloud_hook_active_input { cloud_hook_id: UUID! }
input set_cloud_hook_inactive_input { cloud_hook_id: UUID! }
input mark_message_as_read_input { message_id: UUID! }
input mark_message_as_unread_input { message_id: UUID! }
input delete_message_input { message_id: UUID! }
input set_secret_input { name: String!, value: JSON! }
input delete_secret_input { name: String! }
input update_task_tag_limit_input { tag: String!, limit: Int! }
input delete_task_tag_limit_input { limit_id: UUID! }
type task_tag_limit_id_payload { id: UUID }

input createFlowRunInput {
  flowId: String
  versionGroupId: String
  flowGroupId: String
  parameters: JSON
  context: JSON
  labels: [String!]
  flowRunName: String
  scheduledStartTime: String
  idempotencyKey: String
  runConfig: JSON
}
input setFlowRunStateInput { flowRunId: String!, version: Int, state: JSON!, rerun: Boolean }

extend type Query {
  "A remote agent's long poll: due once a run these labels cover may be waiting to start (then claim it), else false after wait_ms (at most 30,000)."
  wait_for_flow_runs(input: wait_for_flow_runs_input!): wait_for_flow_runs_payload!
  "A task run's id, version and state."
  get_task_run_info(task_run_id: UUID!): task_run_info_payload!
  mapped_children(task_run_id: UUID!): mapped_children_payload!
}

type Mutation {
  create_project(input: create_project_input!): project_id_payload!
  set_project_name(input: set_project_name_input!): project_id_payload!
  set_project_description(input: set_project_description_input!): project_id_payload!
  delete_project(input: delete_project_input!): success_payload!
  create_flow(input: create_flow_input!): create_flow_payload!
  create_flow_from_compressed_string(input: create_flow_from_compressed_string_input!): create_flow_payload!
  register_tasks(input: register_tasks_input!): success_payload!
  register_edges(input: register_edges_input!): success_payload!
  archive_flow(input: archive_flow_input!): archive_flow_payload!
  delete_flow(input: delete_flow_input!): success_payload!
  update_flow_project(input: update_flow_project_input!): flow_id_payload!
  create_flow_run(input: create_flow_run_input!): create_flow_run_payload!
  set_flow_run_name(input: set_flow_run_name_input!): success_payload!
  set_task_run_name(input: set_task_run_name_input!): success_payload!
  set_flow_run_labels(input: set_flow_run_labels_input!): success_payload!
  delete_flow_run(input: delete_flow_run_input!): success_payload!
  set_flow_run_states(input: set_flow_run_states_input!): set_flow_run_states_payload!
  set_task_run_states(input: set_task_run_states_input!): set_task_run_states_payload!
  cancel_flow_run(input: cancel_flow_run_input!): cancel_flow_run_payload!
  "Run a Failed or Cancelled flow run again from its failures: task runs that did not succeed and everything downstream go back to Pending, the others keep their states and results, the run goes to Scheduled."
  restart_flow_run(input: restart_flow_run_input!): restart_flow_run_payload!
  "End a run whose process is gone or was killed (Failed or Cancelled), with every task run it left unfinished; a finished run is left as it is."
  end_abandoned_flow_run(input: end_abandoned_flow_run_input!): end_abandoned_flow_run_payload!
  write_run_logs(input: write_run_logs_input!): write_run_logs_payload!
  register_agent(input: register_agent_input!): agent_id_payload!
  delete_agent(input: delete_agent_input!): success_payload!
  "Not supported: prefectlite has no agent configs."
  create_agent_config(input: create_agent_config_input!): agent_config_id_payload
  "Not supported: prefectlite has no agent configs."
  delete_agent_config(input: delete_agent_config_input!): success_payload
  "Not supported: prefectlite has no agent configs."
  update_agent_config(input: update_agent_config_input!): success_payload
  get_runs_in_queue(input: get_runs_in_queue_input!): runs_in_queue_payload!
  "Select and take (Scheduled → Submitted) up to limit due runs for an agent, atomically."
  claim_flow_runs(input: claim_flow_runs_input!): claim_flow_runs_payload!
  update_flow_run_heartbeat(input: update_flow_run_heartbeat_input!): success_payload!
  update_task_run_heartbeat(input: update_task_run_heartbeat_input!): success_payload!
  enable_flow_heartbeat(input: enable_flow_heartbeat_input!): success_payload!
  disable_flow_heartbeat(input: disable_flow_heartbeat_input!): success_payload!
  enable_flow_lazarus_process(input: enable_flow_lazarus_process_input!): success_payload!
  disable_flow_lazarus_process(input: disable_flow_lazarus_process_input!): success_payload!
  enable_flow_version_lock(input: enable_flow_version_lock_input!): success_payload!
  disable_flow_version_lock(input: disable_flow_version_lock_input!): success_payload!
  set_schedule_active(input: set_schedule_active_input!): success_payload!
  set_schedule_inactive(input: set_schedule_inactive_input!): success_payload!
  set_flow_group_default_parameters(input: set_flow_group_default_parameters_input!): success_payload!
  set_flow_group_labels(input: set_flow_group_labels_input!): success_payload!
  set_flow_group_description(input: set_flow_group_description_input!): success_payload!
  set_flow_group_run_config(input: set_flow_group_run_config_input!): success_payload!
  delete_flow_group(input: delete_flow_group_input!): success_payload!
  "Set a flow group's schedule (it overrides its flows' own) without re-registering."
  set_flow_group_schedule(input: set_flow_group_schedule_input!): success_payload!
  delete_flow_group_schedule(input: delete_flow_group_schedule_input!): success_payload!
  get_or_create_task_run(input: get_or_create_task_run_input!): task_run_id_payload!
  get_or_create_task_run_info(input: get_or_create_task_run_info_input!): task_run_info_payload!
  "Children start…start+count-1 (start defaults to 0) of a mapped task run, created where missing, in one transaction; at most PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL per call."
  get_or_create_mapped_task_runs(input: get_or_create_mapped_task_runs_input!): get_or_create_mapped_task_runs_payload!
  "Not supported: prefectlite has one tenant."
  create_tenant(input: create_tenant_input!): tenant_id_payload
  "Not supported: prefectlite has one tenant."
  delete_tenant(input: delete_tenant_input!): success_payload
  "Not supported: prefectlite has one tenant."
  update_tenant_name(input: update_tenant_name_input!): tenant_id_payload
  "Not supported: prefectlite has one tenant."
  update_tenant_slug(input: update_tenant_slug_input!): tenant_id_payload
  "Not supported: prefectlite has one tenant."
  update_tenant_settings(input: update_tenant_settings_input!): tenant_id_payload
  "Not supported: prefectlite sends no state-change notifications."
  create_cloud_hook(input: create_cloud_hook_input!): cloud_hook_id_payload
  "Not supported: prefectlite sends no state-change notifications."
  test_cloud_hook(input: test_cloud_hook_input!): success_payload
  "Not supported: prefectlite sends no state-change notifications."
  delete_cloud_hook(input: delete_cloud_hook_input!): success_payload
  "Not supported: prefectlite sends no state-change notifications."
  set_cloud_hook_active(input: set_cloud_hook_active_input!): success_payload
  "Not supported: prefectlite sends no state-change notifications."
  set_cloud_hook_inactive(input: set_cloud_hook_inactive_input!): success_payload
  "Not supported: prefectlite has no messages."
  mark_message_as_read(input: mark_message_as_read_input!): success_payload
  "Not supported: prefectlite has no messages."
  mark_message_as_unread(input: mark_message_as_unread_input!): success_payload
  "Not supported: prefectlite has no messages."
  delete_message(input: delete_message_input!): success_payload
  "Not supported (Prefect Cloud's secrets)."
  set_secret(input: set_secret_input!): success_payload
  "Not supported (Prefect Cloud's secrets)."
  delete_secret(input: delete_secret_input!): success_payload
  "Not supported (Prefect Cloud's task concurrency limits)."
  update_task_tag_limit(input: update_task_tag_limit_input!): task_tag_limit_id_payload
  "Not supported (Prefect Cloud's task concurrency limits)."
  delete_task_tag_limit(input: delete_task_tag_limit_input!): success_payload
  createFlowRun(input: createFlowRunInput!): create_flow_run_payload!
  setFlowRunState(input: setFlowRunStateInput!): state_write_result!
}

# Task run artifacts (Prefect Server's experimental API): the query side reads them as task_run.artifacts.
# Ids as String!, as this file's other inputs (a literal or a String variable; the service checks they are UUIDs).
input create_task_run_artifact_input { task_run_id: UUID!, kind: String!, data: JSON!, tenant_id: UUID }
input update_task_run_artifact_input { task_run_artifact_id: UUID!, data: JSON! }
input delete_task_run_artifact_input { task_run_artifact_id: UUID! }
type task_run_artifact_id_payload { id: String }
extend type Mutation {
  "Store an artifact (a link, markdown: Prefect's kinds) of a task run; data at most 1 MB of JSON."
  create_task_run_artifact(input: create_task_run_artifact_input!): task_run_artifact_id_payload
  update_task_run_artifact(input: update_task_run_artifact_input!): success_payload
  delete_task_run_artifact(input: delete_task_run_artifact_input!): success_payload
}
`;
