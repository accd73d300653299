/**
 * The GraphQL mutations of SPEC §4, snake_case as Prefect Server: every mutation takes one
 * `input`. Ids are Strings checked by the services (so a bad one gets a clear message);
 * `JSON` is the query side's scalar (not redefined here).
 */
export const mutationTypeDefs = /* GraphQL */ `
type success_payload { success: Boolean!, error: String }
type id_payload { id: String! }
"Prefect's archive_flow answers with the flow's id; success as the other mutations."
type archive_flow_payload { id: String!, success: Boolean!, error: String }

input create_project_input { name: String!, description: String }

input create_flow_input {
  serialized_flow: JSON!
  project_id: String!
  version_group_id: String
  idempotency_key: String
  set_schedule_active: Boolean
}
type create_flow_payload {
  id: String!
  version: Int!
  created: Boolean!
  "Why the flow's schedule was left off although set_schedule_active asked for it (null: activated, or no schedule)"
  schedule_left_off: String
}

input flow_id_input { flow_id: String! }
input flow_run_id_input { flow_run_id: String! }
input task_run_id_input { task_run_id: String! }

input create_flow_run_input {
  flow_id: String
  version_group_id: String
  flow_group_id: String
  parameters: JSON
  context: JSON
  labels: [String!]
  flow_run_name: String
  scheduled_start_time: String
  idempotency_key: String
  run_config: JSON
}
type create_flow_run_payload { id: String!, created: Boolean! }

"write_id: the writer's UUID for this write; a write whose id is stored already is not made again (a retry after a lost answer), and returns the version it made"
input set_flow_run_state_input { flow_run_id: String!, version: Int, state: JSON!, rerun: Boolean, write_id: String }
input set_flow_run_states_input { states: [set_flow_run_state_input!]! }
"write_id: the writer's UUID for this write; a write whose id is stored already is not made again (a retry after a lost answer), and returns the version it made"
input set_task_run_state_input { task_run_id: String!, version: Int, state: JSON!, rerun: Boolean, flow_run_version: Int, write_id: String }
input set_task_run_states_input { states: [set_task_run_state_input!]! }
type state_write_result { id: String!, status: String!, message: String, version: Int! }
type set_states_payload { states: [state_write_result!]! }

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

input write_run_log_input {
  flow_run_id: String!
  task_run_id: String
  timestamp: String
  name: String
  level: String
  message: String
  info: JSON
  "The writer's UUID for this line: a line whose id is stored already is not stored again (a retry after a lost answer)"
  write_id: String
}
input write_run_logs_input { logs: [write_run_log_input!]! }
type write_run_logs_payload { success: Boolean!, error: String, written: Int!, skipped: Int!, problems: [String!]! }

input register_agent_input { type: String!, name: String, labels: [String!], agent_config_id: String, core_version: String }

input get_runs_in_queue_input { before: String, labels: [String!], agent_id: String, tenant_id: String }
type get_runs_in_queue_payload { flow_run_ids: [String!]! }

input wait_for_flow_runs_input { labels: [String!], wait_ms: Int! }
type wait_for_flow_runs_payload { due: Boolean! }
input claim_flow_runs_input { agent_id: String, labels: [String!], limit: Int!, before: String }
type claimed_flow_run { id: String!, flow_id: String!, version: Int!, previous_state: String!, scheduled_start_time: String! }
type claim_flow_runs_payload { flow_runs: [claimed_flow_run!]! }

"A schedule has no id of its own: either field takes a flow id (that version's schedule) or a flow group id (the schedule of its newest unarchived version; a flow group's schedule overrides its flows')."
input schedule_target_input { flow_id: String, schedule_id: String }
input set_flow_group_default_parameters_input { flow_group_id: String!, parameters: JSON! }
input set_flow_group_labels_input { flow_group_id: String!, labels: [String!] }
input cron_clock_input { cron: String!, parameter_defaults: JSON, labels: [String!] }
"interval in seconds"
input interval_clock_input { interval: Float!, parameter_defaults: JSON, labels: [String!] }
input set_flow_group_schedule_input {
  flow_group_id: String!
  cron_clocks: [cron_clock_input!]
  interval_clocks: [interval_clock_input!]
  "IANA name for the cron clocks"
  timezone: String
}
input delete_flow_group_schedule_input { flow_group_id: String! }

input get_or_create_task_run_info_input { flow_run_id: String!, task_id: String, task_slug: String, map_index: Int }
type task_run_info_payload {
  id: String!
  flow_run_id: String!
  task_id: String!
  task_slug: String!
  map_index: Int!
  version: Int!
  state: String!
  serialized_state: JSON!
}
input get_or_create_mapped_task_runs_input { flow_run_id: String!, task_id: String, task_slug: String, count: Int!, start: Int }
type get_or_create_mapped_task_runs_payload { task_runs: [task_run_info_payload!]! }

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
}

type Mutation {
  create_project(input: create_project_input!): id_payload!
  create_flow(input: create_flow_input!): create_flow_payload!
  archive_flow(input: flow_id_input!): archive_flow_payload!
  delete_flow(input: flow_id_input!): success_payload!
  create_flow_run(input: create_flow_run_input!): create_flow_run_payload!
  set_flow_run_states(input: set_flow_run_states_input!): set_states_payload!
  set_task_run_states(input: set_task_run_states_input!): set_states_payload!
  cancel_flow_run(input: flow_run_id_input!): cancel_flow_run_payload!
  "Run a Failed or Cancelled flow run again from its failures: task runs that did not succeed and everything downstream go back to Pending, the others keep their states and results, the run goes to Scheduled."
  restart_flow_run(input: restart_flow_run_input!): restart_flow_run_payload!
  "End a run whose process is gone or was killed (Failed or Cancelled), with every task run it left unfinished; a finished run is left as it is."
  end_abandoned_flow_run(input: end_abandoned_flow_run_input!): end_abandoned_flow_run_payload!
  write_run_logs(input: write_run_logs_input!): write_run_logs_payload!
  register_agent(input: register_agent_input!): id_payload!
  get_runs_in_queue(input: get_runs_in_queue_input!): get_runs_in_queue_payload!
  "Select and take (Scheduled → Submitted) up to limit due runs for an agent, atomically."
  claim_flow_runs(input: claim_flow_runs_input!): claim_flow_runs_payload!
  update_flow_run_heartbeat(input: flow_run_id_input!): success_payload!
  update_task_run_heartbeat(input: task_run_id_input!): success_payload!
  enable_flow_heartbeat(input: flow_id_input!): success_payload!
  disable_flow_heartbeat(input: flow_id_input!): success_payload!
  enable_flow_lazarus_process(input: flow_id_input!): success_payload!
  disable_flow_lazarus_process(input: flow_id_input!): success_payload!
  enable_flow_version_lock(input: flow_id_input!): success_payload!
  disable_flow_version_lock(input: flow_id_input!): success_payload!
  set_schedule_active(input: schedule_target_input!): success_payload!
  set_schedule_inactive(input: schedule_target_input!): success_payload!
  set_flow_group_default_parameters(input: set_flow_group_default_parameters_input!): success_payload!
  set_flow_group_labels(input: set_flow_group_labels_input!): success_payload!
  "Set a flow group's schedule (it overrides its flows' own) without re-registering."
  set_flow_group_schedule(input: set_flow_group_schedule_input!): success_payload!
  delete_flow_group_schedule(input: delete_flow_group_schedule_input!): success_payload!
  get_or_create_task_run(input: get_or_create_task_run_info_input!): id_payload!
  get_or_create_task_run_info(input: get_or_create_task_run_info_input!): task_run_info_payload!
  "Children start…start+count-1 (start defaults to 0) of a mapped task run, created where missing, in one transaction; at most PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL per call."
  get_or_create_mapped_task_runs(input: get_or_create_mapped_task_runs_input!): get_or_create_mapped_task_runs_payload!
  createFlowRun(input: createFlowRunInput!): create_flow_run_payload!
  setFlowRunState(input: setFlowRunStateInput!): state_write_result!
}

# Task run artifacts (Prefect Server's experimental API): the query side reads them as task_run.artifacts.
# Ids as String!, as this file's other inputs (a literal or a String variable; the service checks they are UUIDs).
input create_task_run_artifact_input { task_run_id: String!, kind: String!, data: JSON!, tenant_id: String }
input update_task_run_artifact_input { task_run_artifact_id: String!, data: JSON! }
input delete_task_run_artifact_input { task_run_artifact_id: String! }
type task_run_artifact_id_payload { id: String }
extend type Mutation {
  "Store an artifact (a link, markdown: Prefect's kinds) of a task run; data at most 1 MB of JSON."
  create_task_run_artifact(input: create_task_run_artifact_input!): task_run_artifact_id_payload
  update_task_run_artifact(input: update_task_run_artifact_input!): success_payload
  delete_task_run_artifact(input: delete_task_run_artifact_input!): success_payload
}
`;
