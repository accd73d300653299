/** Views of the backend (Prefect's `prefect.backend`): immutable snapshots of flows, flow runs and task runs. */
export { FlowView, type FlowParameterInfo } from "./flow-view.ts";
export { FlowRunView } from "./flow-run-view.ts";
export { TaskRunView } from "./task-run-view.ts";
export { LogFollower, readFlowRunLogs, type FlowRunLog } from "./logs.ts";
export { setViewDefaults, type ResultReader, type ViewOptions, type ViewDeps } from "./deps.ts";
