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
  "Paused",
  "Resume",
  "Success",
  "Cached",
  "Looped",
  "Failed",
  "TriggerFailed",
  "TimedOut",
  "ValidationFailed",
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
  Paused: "Scheduled",
  Resume: "Scheduled",
  Submitted: "Pending",
  Queued: "Pending",
  Running: null,
  Cancelling: "Running",
  Finished: null,
  Success: "Finished",
  Cached: "Success",
  Skipped: "Success",
  Mapped: "Success",
  Looped: "Finished",
  Failed: "Finished",
  TriggerFailed: "Failed",
  TimedOut: "Failed",
  ValidationFailed: "Failed",
  Cancelled: "Finished",
};

/**
 * Prefect types that are not prefectlite state types, and why a write of one is refused:
 * neither is ever written by Prefect's engine.
 */
export const UNSTORED_PREFECT_TYPES: Readonly<Record<string, string>> = {
  Finished: "Finished is the abstract parent of the finished states: write one of them",
  ClientFailed: "ClientFailed is Prefect's in-process marker for a state its client could not write; it is never stored",
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

/**
 * Finished and an end: every finished state but Looped. A Looped task run has finished one
 * iteration of its loop and runs the next at once (Prefect's engine writes Running over it), so
 * it is finished in Prefect's hierarchy yet neither final, nor ended, nor left alone when its flow
 * run ends.
 */
export const isFinalType = (t: StateType) => isFinishedType(t) && t !== "Looped";

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
  // Prefect's keys of one type (PREFECT_TYPE_KEYS), kept as a Prefect writer sent them.
  loop_count?: number;
  cached_parameters?: unknown;
  cached_result_expiration?: string | null;
  hashed_inputs?: Record<string, string> | null;
  /** Submitted, Queued: the state it wraps (a retry's Retrying, a resumed task's Resume). */
  state?: SerializedState | null;
}

/**
 * The keys Prefect Core's schema gives one state type beside the common ones: Looped's iteration,
 * Cached's expiry and what it was computed from, and the state a meta state (Submitted, Queued)
 * wraps — which Prefect's engine unwraps to learn that a task run retries or resumes.
 */
export const PREFECT_TYPE_KEYS: Partial<Record<StateType, readonly (keyof SerializedState)[]>> = {
  Looped: ["loop_count"],
  Cached: ["cached_parameters", "cached_result_expiration", "hashed_inputs"],
  Submitted: ["state"],
  Queued: ["state"],
};

/** The Prefect Core release whose serialized-state form prefectlite writes beside its own keys. */
export const PREFECT_STATE_FORM_VERSION = "1.4.1";

/**
 * A stored state with Prefect Core's keys added (its `StateSchema`: `start_time` on the
 * Scheduled family, `run_count`, `n_map_states`, `context`, `cached_inputs`, `__version__`, and
 * `_result` naming the result's type and location). prefectlite's results are JSON files, said by
 * a `JSONSerializer` in `_result`. Keys a Prefect writer sent itself (`_result`,
 * `cached_inputs`, `__version__`, its type's PREFECT_TYPE_KEYS) are kept as sent; prefectlite's
 * readers ignore all of these.
 */
export function withPrefectStateKeys(s: SerializedState, sent: Partial<SerializedState> = {}): SerializedState {
  const out: SerializedState = { ...s, __version__: typeof sent.__version__ === "string" ? sent.__version__ : PREFECT_STATE_FORM_VERSION };
  out.context = s.context ?? {};
  out.cached_inputs = sent.cached_inputs ?? {};
  if (s.startTime) out.start_time = s.startTime;
  if (s.runCount !== undefined && s.runCount !== null) out.run_count = s.runCount;
  if (s.nMapStates !== undefined && s.nMapStates !== null) out.n_map_states = s.nMapStates;
  for (const key of PREFECT_TYPE_KEYS[s.type] ?? []) if (sent[key] !== undefined) Object.assign(out, { [key]: sent[key] });
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
  isCached(): boolean {
    return this.type === "Cached";
  }
  isLooped(): boolean {
    return this.type === "Looped";
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
/** Waiting for a person (Prefect's PAUSE): no start time means until someone resumes it. */
export class Paused extends Scheduled {
  override readonly type: StateType = "Paused";
}
/** Released from Paused: runs at its start time. */
export class Resume extends Scheduled {
  override readonly type: StateType = "Resume";
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
/** A success whose result was computed before and is still valid (Prefect's `cache_for`). */
export class Cached extends Success {
  override readonly type: StateType = "Cached";
}
export class Skipped extends Success {
  override readonly type: StateType = "Skipped";
}
export class Mapped extends Success {
  override readonly type: StateType = "Mapped";
}
/** One iteration of a looping task (Prefect's LOOP signal) done; the next follows at once. */
export class Looped extends Finished {
  override readonly type: StateType = "Looped";
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
export class ValidationFailed extends Failed {
  override readonly type: StateType = "ValidationFailed";
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
 * refuses leaving a final state (only an explicit re-run may, for Scheduled or Pending), and
 * once a run is Cancelling it may only end. A final state may be written again with its outcome
 * kept, as Prefect's engine does: the same type again (a task run whose cache expired takes a
 * newer Cached one), or Success → Cached (a task with `cache_for` caches its fresh result).
 * Looped is left by its loop's next iteration.
 */
export function canTransition(from: StateType, to: StateType, options: { rerun?: boolean } = {}): boolean {
  if (isFinalType(from)) return isRewriteOf(from, to) || (options.rerun === true && (to === "Scheduled" || to === "Pending"));
  if (from === "Cancelling") return isFinalType(to);
  return true;
}

/** `to` written over the final `from` keeps its outcome (see canTransition). */
export function isRewriteOf(from: StateType, to: StateType): boolean {
  return to === from || (from === "Success" && to === "Cached");
}
