/**
 * The state machine as data: every state type, its parent in the hierarchy (Prefect 1's
 * `engine/state.py`), the predicates derived from it, and the transitions the backend accepts.
 */

export const STATE_TYPES = [
  "Pending",
  "Scheduled",
  "Submitted",
  "Queued",
  "Running",
  "Retrying",
  "Success",
  "Failed",
  "TriggerFailed",
  "TimedOut",
  "Skipped",
  "Mapped",
  "Cancelling",
  "Cancelled",
] as const;

export type StateType = (typeof STATE_TYPES)[number];

/** "Finished" is an abstract parent: no state has that type, but every terminal one descends from it. */
type AbstractType = "Finished";

const PARENT: Record<StateType | AbstractType, StateType | AbstractType | null> = {
  Pending: null,
  Scheduled: "Pending",
  Retrying: "Scheduled",
  Submitted: "Pending",
  Queued: "Pending",
  Running: null,
  Cancelling: "Running",
  Finished: null,
  Success: "Finished",
  Skipped: "Success",
  Mapped: "Success",
  Failed: "Finished",
  TriggerFailed: "Failed",
  TimedOut: "Failed",
  Cancelled: "Finished",
};

export function isStateType(value: unknown): value is StateType {
  return typeof value === "string" && (STATE_TYPES as readonly string[]).includes(value);
}

/** True when `type` is `ancestor` or descends from it. */
export function isKindOf(type: StateType, ancestor: StateType | AbstractType): boolean {
  for (let t: StateType | AbstractType | null = type; t !== null; t = PARENT[t]) {
    if (t === ancestor) return true;
  }
  return false;
}

export const isFinishedType = (t: StateType) => isKindOf(t, "Finished");
export const isSuccessfulType = (t: StateType) => isKindOf(t, "Success");
export const isFailedType = (t: StateType) => isKindOf(t, "Failed");
export const isRunningType = (t: StateType) => isKindOf(t, "Running");
export const isPendingType = (t: StateType) => isKindOf(t, "Pending");
export const isScheduledType = (t: StateType) => isKindOf(t, "Scheduled") || t === "Queued";

/** Where a task's result was written: enough for anyone to read it back later. */
export interface ResultLocation {
  type: "LocalResult";
  location: string;
  dir?: string;
}

/** The stored form of a state (the `serialized_state` column, the JSON of the API). */
export interface SerializedState {
  type: StateType;
  message?: string | null;
  timestamp?: string | null;
  result?: ResultLocation | null;
  /** Scheduled / Retrying / Queued: when to (re)start. */
  startTime?: string | null;
  /** Retrying: how many runs have happened so far. */
  runCount?: number | null;
  /** Mapped: how many children. */
  nMapStates?: number | null;
  /** A value JSON can carry for small results shown in the UI (never required for loading). */
  context?: Record<string, unknown> | null;
  // Prefect Core's keys (prefectStateKeys), beside prefectlite's own, so Prefect's readers load the state.
  __version__?: string;
  start_time?: string | null;
  run_count?: number;
  n_map_states?: number;
  cached_inputs?: Record<string, unknown>;
  _result?: Record<string, unknown>;
}

/** The Prefect Core release whose serialized-state form prefectlite writes beside its own keys. */
export const PREFECT_STATE_FORM_VERSION = "1.4.1";

/**
 * A stored state with Prefect Core's keys added (its `StateSchema`: `start_time` on the
 * Scheduled family, `run_count`, `n_map_states`, `context`, `cached_inputs`, `__version__`, and
 * `_result` naming the result's type and location). prefectlite's results are JSON files, said by
 * a `JSONSerializer` in `_result`. Keys a Prefect writer sent itself (`_result`,
 * `cached_inputs`, `__version__`) are kept as sent; prefectlite's readers ignore all of these.
 */
export function withPrefectStateKeys(s: SerializedState, sent: Partial<SerializedState> = {}): SerializedState {
  const out: SerializedState = { ...s, __version__: typeof sent.__version__ === "string" ? sent.__version__ : PREFECT_STATE_FORM_VERSION };
  out.context = s.context ?? {};
  out.cached_inputs = sent.cached_inputs ?? {};
  if (s.startTime) out.start_time = s.startTime;
  if (s.runCount !== undefined && s.runCount !== null) out.run_count = s.runCount;
  if (s.nMapStates !== undefined && s.nMapStates !== null) out.n_map_states = s.nMapStates;
  if (sent._result) out._result = sent._result;
  else if (s.result) {
    out._result = {
      type: "LocalResult",
      location: s.result.location,
      ...(s.result.dir ? { dir: s.result.dir } : {}),
      serializer: { type: "JSONSerializer", __version__: PREFECT_STATE_FORM_VERSION },
      __version__: PREFECT_STATE_FORM_VERSION,
    };
  } else if (s.type !== "Mapped") out._result = { type: "NoResultType", __version__: PREFECT_STATE_FORM_VERSION };
  return out;
}

export interface StateOptions {
  message?: string;
  /** ISO time; when absent, whoever records the state stamps it. */
  timestamp?: string;
  /** The in-memory result value (never serialized). */
  result?: unknown;
  resultLocation?: ResultLocation;
  /** The result as JSON text, stored as Prefect's `PrefectResult` so Prefect 1's views can read it. */
  prefectResult?: string;
  startTime?: string;
  runCount?: number;
  nMapStates?: number;
}

export class State {
  readonly type: StateType = "Pending";
  readonly message: string;
  timestamp: string | undefined;
  readonly result: unknown;
  readonly resultLocation: ResultLocation | undefined;
  readonly prefectResult: string | undefined;
  readonly startTime: string | undefined;
  readonly runCount: number | undefined;
  readonly nMapStates: number | undefined;

  constructor(options: StateOptions | string = {}) {
    const o = typeof options === "string" ? { message: options } : options;
    this.message = o.message ?? "";
    this.timestamp = o.timestamp;
    this.result = o.result;
    this.resultLocation = o.resultLocation;
    this.prefectResult = o.prefectResult;
    this.startTime = o.startTime;
    this.runCount = o.runCount;
    this.nMapStates = o.nMapStates;
  }

  isFinished(): boolean {
    return isFinishedType(this.type);
  }
  isSuccessful(): boolean {
    return isSuccessfulType(this.type);
  }
  isFailed(): boolean {
    return isFailedType(this.type);
  }
  isRunning(): boolean {
    return isRunningType(this.type);
  }
  isPending(): boolean {
    return isPendingType(this.type);
  }
  isScheduled(): boolean {
    return isScheduledType(this.type);
  }
  isRetrying(): boolean {
    return this.type === "Retrying";
  }
  isSkipped(): boolean {
    return this.type === "Skipped";
  }
  isMapped(): boolean {
    return this.type === "Mapped";
  }
  isCancelled(): boolean {
    return this.type === "Cancelled";
  }

  toJSON(): SerializedState {
    const s: SerializedState = { type: this.type, message: this.message };
    if (this.timestamp) s.timestamp = this.timestamp;
    if (this.resultLocation) s.result = this.resultLocation;
    if (this.prefectResult !== undefined) s._result = { type: "PrefectResult", location: this.prefectResult, __version__: PREFECT_STATE_FORM_VERSION };
    if (this.startTime) s.startTime = this.startTime;
    if (this.runCount !== undefined) s.runCount = this.runCount;
    if (this.nMapStates !== undefined) s.nMapStates = this.nMapStates;
    return s;
  }

  toString(): string {
    return this.message ? `<${this.type}: "${this.message}">` : `<${this.type}>`;
  }
}

export class Pending extends State {
  override readonly type: StateType = "Pending";
}
export class Scheduled extends Pending {
  override readonly type: StateType = "Scheduled";
}
export class Retrying extends Scheduled {
  override readonly type: StateType = "Retrying";
}
export class Submitted extends Pending {
  override readonly type: StateType = "Submitted";
}
export class Queued extends Pending {
  override readonly type: StateType = "Queued";
}
export class Running extends State {
  override readonly type: StateType = "Running";
}
export class Cancelling extends Running {
  override readonly type: StateType = "Cancelling";
}
export class Finished extends State {}
export class Success extends Finished {
  override readonly type: StateType = "Success";
}
export class Skipped extends Success {
  override readonly type: StateType = "Skipped";
}
export class Mapped extends Success {
  override readonly type: StateType = "Mapped";
}
export class Failed extends Finished {
  override readonly type: StateType = "Failed";
}
export class TriggerFailed extends Failed {
  override readonly type: StateType = "TriggerFailed";
}
export class TimedOut extends Failed {
  override readonly type: StateType = "TimedOut";
}
export class Cancelled extends Finished {
  override readonly type: StateType = "Cancelled";
}

const CLASSES: Record<StateType, new (o?: StateOptions) => State> = {
  Pending,
  Scheduled,
  Submitted,
  Queued,
  Running,
  Retrying,
  Success,
  Failed,
  TriggerFailed,
  TimedOut,
  Skipped,
  Mapped,
  Cancelling,
  Cancelled,
};

export function makeState(type: StateType, options: StateOptions = {}): State {
  return new CLASSES[type](options);
}

/** Rebuild a state from its stored form. The caller validates `type` first. */
export function stateFromJSON(s: SerializedState): State {
  return makeState(s.type, {
    message: s.message ?? undefined,
    timestamp: s.timestamp ?? undefined,
    resultLocation: s.result ?? undefined,
    startTime: s.startTime ?? undefined,
    runCount: s.runCount ?? undefined,
    nMapStates: s.nMapStates ?? undefined,
  });
}

/**
 * Whether the backend accepts `to` after `from`. Prefect Server accepted anything; prefectlite
 * refuses leaving a finished state (only an explicit re-run may, see `isRerun`), and once a
 * run is Cancelling it may only end.
 */
export function canTransition(from: StateType, to: StateType, options: { rerun?: boolean } = {}): boolean {
  if (isFinishedType(from)) return options.rerun === true && (to === "Scheduled" || to === "Pending");
  if (from === "Cancelling") return isFinishedType(to);
  return true;
}
