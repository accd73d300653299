/**
 * The prefectlite SDK: everything a flow file imports from "prefectlite". Loading a flow must
 * never pull in the server, so this imports only core, the engine and thin SDK helpers.
 */
export { Flow, type LocalRunOptions, type RegisterOptions } from "./sdk/flow.ts";
export { Client, type ClientOptions } from "./sdk/client.ts";
export type { CreateFlowRunInput } from "./client/client.ts";
export {
  createFlowRun,
  waitForFlowRun,
  getTaskRunResult,
  type CreateFlowRunOptions,
  type WaitForFlowRunOptions,
  type GetTaskRunResultOptions,
} from "./sdk/compose.ts";
export { FlowView, FlowRunView, TaskRunView, type FlowParameterInfo, type FlowRunLog, type ResultReader, type ViewOptions } from "./sdk/views.ts";
export type { FlowOptions, Storage, FlowGraph } from "./core/flow.ts";
export { LocalRun, UniversalRun, type RunConfig, type RunConfigInput, type RunConfigOptions, type RunConfigType } from "./core/run-config.ts";
export { task, type Task, type BoundTask, type TaskOptions, type Input, type MapInput } from "./core/task.ts";
export { Parameter, type ParameterOptions } from "./core/parameter.ts";
export type { ParameterType } from "./core/parameter-types.ts";
export { Handle, unmapped, Unmapped } from "./core/graph.ts";
export { context, getLogger, type RunContext } from "./core/context.ts";
export type { Logger, LogLevel, LogRecord } from "./core/logging.ts";
export { LocalResult, type Result, type LocalResultOptions } from "./core/results.ts";
export { allSuccessful, allFinished, always, anyFailed, anySuccessful, allFailed, type Trigger } from "./core/triggers.ts";
export { SKIP, FAIL, RETRY, Signal } from "./core/signals.ts";
export {
  State,
  Pending,
  Scheduled,
  Submitted,
  Queued,
  Running,
  Retrying,
  Paused,
  Resume,
  Success,
  Cached,
  Looped,
  Failed,
  TriggerFailed,
  TimedOut,
  ValidationFailed,
  Skipped,
  Mapped,
  Cancelling,
  Cancelled,
  Finished,
  STATE_TYPES,
  type StateType,
  type SerializedState,
  type ResultLocation,
} from "./core/state.ts";
export { Schedule, type ScheduledEvent } from "./core/schedule/schedule.ts";
export { CronClock, IntervalClock, type Clock, type ClockOptions } from "./core/schedule/clocks.ts";
export type { SerializedFlow } from "./core/serialize.ts";
export type { FlowRunState } from "./engine/flow-runner.ts";
export { PrefectliteError } from "./core/errors.ts";
