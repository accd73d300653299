import { TALLY_STATES } from "../core/cancel-report.ts";

/**
 * Every GraphQL document the client sends: the HTTP backend's operations, and the reads the CLI,
 * the views and the SDK make through `Backend.graphql` (they run in-process on the embedded
 * database too). One place, so the API's shape the client depends on is seen at once.
 */

// Projects and flows.
const PROJECT_FIELDS = "id name description created";
export const FIND_PROJECT = `query ($name: String!) { project(where: { name: { _eq: $name } }) { ${PROJECT_FIELDS} } }`;
export const LIST_PROJECTS = `query { project(order_by: { name: asc }) { ${PROJECT_FIELDS} } }`;
export const CREATE_PROJECT = `mutation ($input: create_project_input!) { create_project(input: $input) { id } }`;

const FLOW_FIELDS = "id name version archived version_group_id flow_group_id serialized_hash parameters created project { id name }";
export const LATEST_FLOW = `query ($where: flow_bool_exp) { flow(where: $where, order_by: { version: desc }, limit: 1) { ${FLOW_FIELDS} } }`;
export const LIST_FLOWS = `query ($where: flow_bool_exp, $limit: Int) { flow(where: $where, order_by: [{ name: asc }, { version: desc }], limit: $limit) { ${FLOW_FIELDS} } }`;
export const CREATE_FLOW = `mutation ($input: create_flow_input!) { create_flow(input: $input) { id version schedule_left_off } }`;
export const ARCHIVE_FLOW = `mutation ($input: archive_flow_input!) { archive_flow(input: $input) { success } }`;
export const CREATE_FLOW_RUN = `mutation ($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`;

// One backed flow run.
const TASK_RUN_FIELDS = "id task_slug map_index version state serialized_state";
export const READ_FLOW_RUN = `query ($id: uuid!, $page: Int!) { flow_run_by_pk(id: $id) {
  id name version state serialized_state scheduled_start_time parameters context labels run_config
  flow { id name serialized_hash storage run_config flow_group { settings } }
  task_runs(order_by: [{ task_slug: asc }, { map_index: asc }], limit: $page) { ${TASK_RUN_FIELDS} }
} }`;
export const READ_FLOW_RUN_TASK_RUNS = `query ($id: uuid!, $page: Int!, $offset: Int!) {
  task_run(where: { flow_run_id: { _eq: $id } }, order_by: [{ task_slug: asc }, { map_index: asc }], limit: $page, offset: $offset) { ${TASK_RUN_FIELDS} }
}`;
export const FLOW_RUN_STATE = `query ($id: uuid!) { flow_run_by_pk(id: $id) { state version } }`;
export const READ_TASK_RUNS = `query ($ids: [uuid!], $limit: Int!) { task_run(where: { id: { _in: $ids } }, order_by: [{ task_slug: asc }, { map_index: asc }], limit: $limit) { ${TASK_RUN_FIELDS} } }`;
export const SET_FLOW_RUN_STATES = `mutation ($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { version } } }`;
export const SET_TASK_RUN_STATES = `mutation ($input: set_task_run_states_input!) { set_task_run_states(input: $input) { states { version } } }`;
export const MAPPED_CHILDREN = `mutation ($input: get_or_create_mapped_task_runs_input!) {
  get_or_create_mapped_task_runs(input: $input) { task_runs { ${TASK_RUN_FIELDS} } } }`;
export const WRITE_RUN_LOGS = `mutation ($input: write_run_logs_input!) { write_run_logs(input: $input) { written } }`;
/** A run's states and logs in one document (a document is one transaction on the server). */
export const WRITE_BATCH = `mutation ($states: set_task_run_states_input!, $logs: write_run_logs_input!) {
  taskRuns: set_task_run_states(input: $states) { states { version } }
  logs: write_run_logs(input: $logs) { written }
}`;
export const WRITE_BATCH_WITH_FLOW_RUN_STATE = `mutation ($states: set_task_run_states_input!, $logs: write_run_logs_input!, $flow: set_flow_run_states_input!) {
  taskRuns: set_task_run_states(input: $states) { states { version } }
  logs: write_run_logs(input: $logs) { written }
  flowRun: set_flow_run_states(input: $flow) { states { version } }
}`;
export const HEARTBEAT = `mutation ($input: update_flow_run_heartbeat_input!) { update_flow_run_heartbeat(input: $input) { success } }`;
/** The heartbeat thread's cancel watch. */
export const FLOW_RUN_STATE_ONLY = `query ($id: uuid!) { flow_run_by_pk(id: $id) { state } }`;
export const CANCEL_FLOW_RUN = `mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`;

// Agents and run processes.
export const WAIT_FOR_FLOW_RUNS = `query ($input: wait_for_flow_runs_input!) { wait_for_flow_runs(input: $input) { due } }`;
export const REGISTER_AGENT = `mutation ($input: register_agent_input!) { register_agent(input: $input) { id } }`;
export const CLAIM_FLOW_RUNS = `mutation ($input: claim_flow_runs_input!) { claim_flow_runs(input: $input) { flow_runs { id run_config } } }`;
export const RUNS_IN_QUEUE = `mutation ($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }`;
export const RUN_STANDINGS = `query ($ids: [uuid!], $limit: Int) { flow_run(where: { id: { _in: $ids } }, limit: $limit) { id state version } }`;
export const END_ABANDONED_FLOW_RUN = `mutation ($input: end_abandoned_flow_run_input!) { end_abandoned_flow_run(input: $input) { state changed } }`;

// The CLI's and the SDK's reads and commands through Backend.graphql.
/** Which agents exist and when each last asked for work (`run`'s warning when none covers a run's labels). */
export const AGENTS = `query { agent { id name labels last_queried } }`;
/** An agentless sub-flow: the child run, and the agents that might take it. */
export const AGENTLESS_RUN = `query ($id: uuid!) {
  flow_run_by_pk(id: $id) { id name state version labels scheduled_start_time run_config }
  agent { name labels last_queried }
}`;
/** `prefectlite restart`. */
export const RESTART_FLOW_RUN = `mutation ($input: restart_flow_run_input!) {
  restart_flow_run(input: $input) { id state version message labels restarted_task_runs kept_task_runs }
}`;
/** `run --watch`: the run's state changes and log lines since a moment. */
export const WATCH_POLL = `query ($id: uuid!, $since: timestamptz) {
  flow_run_by_pk(id: $id) {
    state labels scheduled_start_time
    states(where: { timestamp: { _gte: $since } }, order_by: { timestamp: asc }) { id timestamp state message }
    logs(where: { timestamp: { _gte: $since } }, order_by: { timestamp: asc }) { id timestamp level message }
  }
}`;
/** `run --id`: a flow by its id, or its flow group's newest unarchived version. */
export const FLOW_BY_ID_OR_GROUP = `query ($id: uuid) { flow(where: { _or: [{ id: { _eq: $id } }, { flow_group_id: { _eq: $id }, archived: { _eq: false } }] }, order_by: { version: desc }, limit: 1) { id name parameters } }`;
/** `get flow-runs`. */
export const LIST_FLOW_RUNS = `query ($where: flow_run_bool_exp, $limit: Int) {
  flow_run(where: $where, order_by: { created: desc }, limit: $limit) {
    id name state labels scheduled_start_time start_time end_time flow { name version }
  }
}`;
/** `get task-runs --flow-run ID`: a page of them and how many there are. */
export const LIST_TASK_RUNS = `query ($where: task_run_bool_exp, $limit: Int) {
  task_run(where: $where, order_by: [{ task_slug: asc }, { map_index: asc }], limit: $limit) {
    id task_slug map_index state serialized_state start_time end_time
  }
  task_run_aggregate(where: $where) { aggregate { count } }
}`;

/** A flow run's task runs in one state of a tally (core/cancel-report.ts), or all of them. */
const tallyCount = (states?: readonly string[]) =>
  `task_run_aggregate(where: { flow_run_id: { _eq: $id }${states ? `, state: { _in: ${JSON.stringify(states)} }` : ""} }) { aggregate { count } }`;
/** `prefectlite cancel`: how a cancelled run's task runs ended. */
export const TASK_RUN_TALLY = `query ($id: uuid!) {
  completed: ${tallyCount(TALLY_STATES.completed)}
  failed: ${tallyCount(TALLY_STATES.failed)}
  cancelled: ${tallyCount(TALLY_STATES.cancelled)}
  all: ${tallyCount()}
}`;

// The views' reads (client/views/: FlowView, FlowRunView, TaskRunView, logs, mapped children).
const VIEW_FLOW_FIELDS = `id name version version_group_id flow_group_id archived core_version run_config storage
  parameters schedule serialized_flow description created project { name } flow_group { labels settings }`;
/** `FlowView.fromFlowId`: a flow version by its id. */
export const FLOW_VIEW_BY_ID = `query ($id: uuid!) { flow_by_pk(id: $id) { ${VIEW_FLOW_FIELDS} } }`;
/** `FlowView.fromFlowGroupId`: a flow group's newest version, the unarchived one first. */
export const FLOW_VIEW_OF_GROUP = `query ($id: uuid!) { flow(where: { flow_group_id: { _eq: $id } }, order_by: [{ archived: asc }, { version: desc }], limit: 1) { ${VIEW_FLOW_FIELDS} } }`;
/** `FlowView.fromFlowName`: the flow versions matching `$where`, newest first. */
export const FLOW_VIEWS_WHERE = `query ($where: flow_bool_exp) { flow(where: $where, order_by: [{ version: desc }]) { ${VIEW_FLOW_FIELDS} } }`;

/** `FlowRunView`: a flow run with every state it went through. */
export const FLOW_RUN_VIEW_BY_ID = `query ($id: uuid!) { flow_run_by_pk(id: $id) {
  id name flow_id state serialized_state labels parameters context run_config
  scheduled_start_time start_time end_time created updated
  states(order_by: [{ timestamp: asc }, { version: asc }]) { state serialized_state }
} }`;

/** The task-run fields a `TaskRunView` is made of (views/rows.ts: TaskRunRow). */
const VIEW_TASK_RUN_FIELDS = "id task_id task_slug map_index flow_run_id state serialized_state start_time end_time updated task { name }";
/** `FlowRunView.getAllTaskRuns`: a page of a flow run's task runs, by slug then map index. */
export const FLOW_RUN_VIEW_TASK_RUNS = `query ($id: uuid!, $limit: Int!, $offset: Int!) {
  task_run(where: { flow_run_id: { _eq: $id } }, order_by: [{ task_slug: asc }, { map_index: asc }], limit: $limit, offset: $offset) { ${VIEW_TASK_RUN_FIELDS} }
}`;
/** `TaskRunView.fromTaskRunId` and `getLatest`: a task run by its id. */
export const TASK_RUN_VIEW_BY_ID = `query ($id: uuid!) { task_run_by_pk(id: $id) { ${VIEW_TASK_RUN_FIELDS} } }`;
/** `TaskRunView.fromTaskSlug`: the task run of a slug and map index, and the run's slugs (to say which exist when none matches). */
export const TASK_RUN_VIEW_BY_SLUG = `query ($flowRunId: uuid!, $slug: String!, $mapIndex: Int!) {
  task_run(where: { flow_run_id: { _eq: $flowRunId }, task_slug: { _eq: $slug }, map_index: { _eq: $mapIndex } }, limit: 1) { ${VIEW_TASK_RUN_FIELDS} }
  flow_run_by_pk(id: $flowRunId) { task_runs(where: { map_index: { _eq: -1 } }, order_by: [{ task_slug: asc }]) { task_slug } }
}`;
/** A page of a mapped task run's children, map index ascending, after `$after`. */
export const MAPPED_CHILD_PAGE = `query ($flowRunId: uuid!, $slug: String!, $after: Int!, $limit: Int!) {
  task_run(
    where: { flow_run_id: { _eq: $flowRunId }, task_slug: { _eq: $slug }, map_index: { _gt: $after } }
    order_by: [{ map_index: asc }]
    limit: $limit
  ) { ${VIEW_TASK_RUN_FIELDS} }
}`;
/** The registered flow of a run (where it configures its tasks' results to go). */
export const FLOW_RUN_SERIALIZED_FLOW = `query ($id: uuid!) { flow_run_by_pk(id: $id) { flow { serialized_flow } } }`;

/** A page of a flow run's log lines. */
export const LOG_PAGE = `query ($where: log_bool_exp, $orderBy: [log_order_by!], $limit: Int, $offset: Int) {
  log(where: $where, order_by: $orderBy, limit: $limit, offset: $offset) { id timestamp level name message task_run_id created }
}`;
