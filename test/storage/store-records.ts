/**
 * Records for the Store's repository tests (store-contract.test.ts on every store, and the
 * PostgreSQL-only cases of postgres/store.test.ts): state writes, groups, flows, tasks, runs.
 */
import { newId } from "../../src/services/ids.ts";
import type { FlowGroupRecord, NewFlow, NewFlowRun, NewTask, NewTaskRun, StateWrite } from "../../src/storage/store.ts";

export const NOW = "2024-01-01T12:00:00.000Z";
export const LATER = "2024-01-01T12:05:00.123Z";

export function write(type: string, timestamp: string, extra: Partial<StateWrite> & { startTime?: string; message?: string } = {}): StateWrite {
  const { startTime, message, ...rest } = extra;
  return {
    id: newId(),
    state: { type, timestamp, message: message ?? `${type}!`, startTime: startTime ?? null } as StateWrite["state"],
    markStarted: false,
    markEnded: false,
    heartbeat: null,
    ...rest,
  };
}

export function group(name = `group-${newId()}`, settings: Partial<FlowGroupRecord["settings"]> = {}): FlowGroupRecord {
  return {
    id: newId(),
    name,
    labels: null,
    schedule: null,
    settings: { heartbeat_enabled: true, lazarus_enabled: true, version_locking_enabled: false, idempotency_key: null, ...settings },
    defaultParameters: {},
    runConfig: null,
  };
}

export function flow(projectId: string, flowGroupId: string, version = 1, over: Partial<NewFlow> = {}): NewFlow {
  return {
    id: newId(),
    name: "etl",
    version,
    versionGroupId: flowGroupId,
    flowGroupId,
    projectId,
    archived: false,
    coreVersion: "1.0.0",
    serializedHash: `hash-${version}`,
    parameters: [{ name: "x", required: false, default: 1 }] as NewFlow["parameters"],
    runConfig: { labels: ["a"], env: { K: "v" } },
    schedule: null,
    isScheduleActive: false,
    serializedFlow: { name: "etl", tasks: [{ slug: "t1" }], nested: { z: 1, a: [true, null] } },
    storage: { type: "Local" },
    description: "the etl flow",
    ...over,
  };
}

export function task(flowId: string, slug: string, over: Partial<NewTask> = {}): NewTask {
  return {
    id: newId(),
    flowId,
    slug,
    name: slug,
    type: "task",
    maxRetries: 2,
    retryDelayMs: 500,
    timeoutMs: null,
    trigger: "all_successful",
    mapped: false,
    isRootTask: true,
    isTerminalTask: true,
    isReferenceTask: true,
    tags: ["t"],
    ...over,
  };
}

export function run(flowId: string, over: Partial<NewFlowRun> = {}, state = write("Scheduled", NOW, { startTime: NOW })): NewFlowRun {
  return {
    id: newId(),
    flowId,
    name: "brave-otter",
    parameters: { x: 2 },
    context: { c: 1 },
    labels: [],
    runConfig: null,
    scheduledStartTime: NOW,
    autoScheduled: false,
    idempotencyKey: null,
    initialState: state,
    ...over,
  };
}

export function taskRun(flowRunId: string, taskId: string, taskSlug: string, mapIndex = -1, state = write("Pending", NOW)): NewTaskRun {
  return { id: newId(), flowRunId, taskId, taskSlug, mapIndex, initialState: state };
}

/** A promise and the function that resolves it. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await Bun.sleep(5);
  }
  throw new Error(`never happened: ${what}`);
}
