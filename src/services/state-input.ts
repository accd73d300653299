import { PrefectliteError, validationError } from "../core/errors.ts";
import {
  PREFECT_TYPE_KEYS,
  STATE_TYPES,
  UNSTORED_PREFECT_TYPES,
  isFinalType,
  isScheduledType,
  isStateType,
  withPrefectStateKeys,
  type ResultLocation,
  type SerializedState,
  type StateType,
} from "../core/state.ts";
import type { StateWrite } from "../storage/store.ts";
import { describe, isPlainObject, requireJsonDepth, requireTime } from "./validate.ts";
import { newId } from "./ids.ts";

/** Prefect Server's limit on one state (`sys.getsizeof(json.dumps(state))`). */
export const MAX_STATE_PAYLOAD_BYTES = 1024 * 1024;

export type StampedState = SerializedState & { timestamp: string };

/**
 * A state as a client sent it (an object, or its JSON text) → the stored form: known fields
 * only, the type checked, times normalized, stamped with `now` when it has no timestamp, and
 * a Scheduled-family state without a start time starting at its timestamp. Prefect Core's
 * writers send `start_time`, `run_count` and `n_map_states` in snake_case and keep their result in
 * `_result`; every stored state carries Prefect's keys beside prefectlite's (withPrefectStateKeys).
 */
export function parseStateInput(value: unknown, now: string, field = "state"): StampedState {
  let raw = value;
  if (typeof raw === "string") {
    if (raw.length > MAX_STATE_PAYLOAD_BYTES) throw tooLarge();
    try {
      raw = JSON.parse(raw);
    } catch {
      throw validationError(`${field} is not valid JSON`);
    }
  }
  if (!isPlainObject(raw)) throw validationError(`${field} must be a JSON object with a "type", got ${describe(raw)}`);
  requireJsonDepth(raw, field);
  if (Buffer.byteLength(JSON.stringify(raw)) > MAX_STATE_PAYLOAD_BYTES) throw tooLarge();
  const type = raw.type;
  if (typeof type === "string" && Object.hasOwn(UNSTORED_PREFECT_TYPES, type)) throw validationError(`${field}: ${UNSTORED_PREFECT_TYPES[type]}`);
  if (!isStateType(type)) {
    throw validationError(`${field}: unknown state type ${describe(type)} (known: ${STATE_TYPES.join(", ")})`);
  }
  if (raw.message !== undefined && raw.message !== null && typeof raw.message !== "string") {
    throw validationError(`${field}.message must be a string`);
  }
  const timestamp = raw.timestamp == null ? now : requireTime(raw.timestamp, `${field}.timestamp`);
  const state: StampedState = { type, message: (raw.message as string | null | undefined) ?? "", timestamp };
  const result = parseResult(raw.result, field);
  if (result) state.result = result;
  if (raw.startTime != null) state.startTime = requireTime(raw.startTime, `${field}.startTime`);
  else if (raw.start_time != null) state.startTime = requireTime(raw.start_time, `${field}.start_time`);
  // Paused without a start time waits until someone resumes it (Prefect's Paused has none).
  else if (isScheduledType(type) && type !== "Paused") state.startTime = timestamp;
  if (raw.runCount != null) state.runCount = count(raw.runCount, `${field}.runCount`);
  else if (raw.run_count != null) state.runCount = count(raw.run_count, `${field}.run_count`);
  if (raw.nMapStates != null) state.nMapStates = count(raw.nMapStates, `${field}.nMapStates`);
  else if (raw.n_map_states != null) state.nMapStates = count(raw.n_map_states, `${field}.n_map_states`);
  if (raw.context != null) {
    if (!isPlainObject(raw.context)) throw validationError(`${field}.context must be a JSON object`);
    state.context = raw.context;
  }
  return withPrefectStateKeys(state, prefectKeysSent(raw, type, now, field)) as StampedState;
}

/** The Prefect keys a Prefect Core writer sent that are kept as they are (checked). */
function prefectKeysSent(raw: Record<string, unknown>, type: StateType, now: string, field: string): Partial<SerializedState> {
  const sent: Partial<SerializedState> = {};
  if (raw._result != null) {
    if (!isPlainObject(raw._result) || typeof raw._result.type !== "string") throw validationError(`${field}._result must be a result object with a type`);
    sent._result = raw._result;
  }
  if (raw.cached_inputs != null) {
    if (!isPlainObject(raw.cached_inputs)) throw validationError(`${field}.cached_inputs must be a JSON object`);
    sent.cached_inputs = raw.cached_inputs;
  }
  if (typeof raw.__version__ === "string") sent.__version__ = raw.__version__;
  for (const key of PREFECT_TYPE_KEYS[type] ?? []) {
    const value = raw[key];
    if (value === undefined) continue;
    (sent as Record<string, unknown>)[key] = value === null ? null : typeKey(key, value, now, `${field}.${key}`);
  }
  return sent;
}

/** One of PREFECT_TYPE_KEYS as stored, or a clear refusal. */
function typeKey(key: keyof SerializedState, value: unknown, now: string, field: string): unknown {
  switch (key) {
    case "loop_count":
      return count(value, field);
    case "cached_result_expiration":
      return requireTime(value, field);
    case "hashed_inputs":
      if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === "string")) throw validationError(`${field} must be an object of strings`);
      return value;
    case "state": {
      // The wrapped state is only Prefect's to read: prefectlite's own result key is not kept there.
      const { result: _unread, ...wrapped } = parseStateInput(value, now, field);
      return wrapped;
    }
    default:
      return value; // cached_parameters: any JSON (the depth was checked with the whole state)
  }
}

function parseResult(value: unknown, field: string): ResultLocation | null {
  if (value == null) return null;
  if (!isPlainObject(value) || value.type !== "LocalResult" || typeof value.location !== "string") {
    throw validationError(`${field}.result must be { type: "LocalResult", location, dir? }`);
  }
  const r: ResultLocation = { type: "LocalResult", location: value.location };
  if (typeof value.dir === "string") r.dir = value.dir;
  return r;
}

function count(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw validationError(`${field} must be a non-negative integer`);
  return value;
}

function tooLarge(): PrefectliteError {
  return validationError(`State payload is too large (over ${MAX_STATE_PAYLOAD_BYTES} bytes).`);
}

/** A state the server itself writes (initial states, cancellations, claims). */
export function serverState(type: SerializedState["type"], message: string, now: string, startTime?: string): StampedState {
  const s: StampedState = { type, message, timestamp: now };
  if (startTime) s.startTime = startTime;
  return withPrefectStateKeys(s) as StampedState;
}

/** The storage write of a state: which run columns it also moves. */
export function stateWrite(state: StampedState, options: { heartbeat?: string | null; agentId?: string | null; writeId?: string } = {}): StateWrite {
  return {
    id: options.writeId ?? newId(),
    state,
    markStarted: state.type === "Running",
    markEnded: isFinalType(state.type),
    heartbeat: options.heartbeat ?? null,
    agentId: options.agentId ?? null,
  };
}
