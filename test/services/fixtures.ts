import { onTestFinished } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SerializedFlow, SerializedParameter, SerializedTask } from "../../src/core/serialize.ts";
import type { SerializedSchedule } from "../../src/core/schedule/schedule.ts";
import { createServices, type Services } from "../../src/services/index.ts";
import type { Store } from "../../src/storage/store.ts";
import { openTestStorage, type StoreKind, type TestStorage } from "../storage-helpers.ts";

/** A clock tests move by hand. */
export class FakeClock {
  constructor(private current = new Date("2024-01-01T12:00:00.000Z")) {}
  now = (): Date => new Date(this.current.getTime());
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  iso(offsetMs = 0): string {
    return new Date(this.current.getTime() + offsetMs).toISOString();
  }
}

export interface TestBackend {
  kind: StoreKind;
  store: Store;
  /** One SQL statement on a connection of its own (assertions, setup). */
  sql: TestStorage["sql"];
  services: Services;
  clock: FakeClock;
  projectId: string;
  close(): Promise<void>;
}

/** A fresh database of `kind` (default: PREFECTLITE_TEST_STORE, else SQLite) with services on a fake clock and a project "test"; closed after the test. */
export async function openTestBackend(options: { kind?: StoreKind; maxScheduledRuns?: number } = {}): Promise<TestBackend> {
  const { kind, ...serviceOptions } = options;
  const t = await openTestStorage(kind);
  // Per test (a module-level afterEach would run only in the first file that imports this one).
  onTestFinished(() => t.close());
  const clock = new FakeClock();
  const services = createServices(t.store, { now: clock.now, ...serviceOptions });
  const { id: projectId } = await services.createProject({ name: "test" });
  return { kind: t.kind, store: t.store, sql: t.sql, services, clock, projectId, close: t.close };
}

export function tempDatabasePath(): string {
  return join(mkdtempSync(join(tmpdir(), "prefectlite-test-")), "prefectlite.db");
}

function task(slug: string, name = slug.replace(/-\d+$/, "")): SerializedTask {
  return {
    slug,
    name,
    kind: "task",
    mapped: false,
    tags: [],
    maxRetries: 0,
    retryDelayMs: 0,
    timeoutMs: null,
    trigger: "all_successful",
    skipOnUpstreamSkip: true,
    logStdout: false,
    result: null,
    constants: {},
    sourceDigest: null,
  };
}

export interface FlowSpec {
  name?: string;
  /** Parameters: name → default (undefined = required). */
  parameters?: Record<string, unknown>;
  /** Extra tasks by slug (a chain after the parameters). */
  tasks?: string[];
  labels?: string[];
  schedule?: SerializedSchedule | null;
}

/** A serialized flow as `Flow.serialize()` writes it: parameters, then a chain of tasks. */
export function serializedFlow(spec: FlowSpec = {}): SerializedFlow {
  const parameters: SerializedParameter[] = Object.entries(spec.parameters ?? {}).map(([name, def]) => ({
    name,
    slug: name,
    default: def === undefined ? null : def,
    required: def === undefined,
  }));
  const slugs = spec.tasks ?? ["say_hello-1"];
  const tasks = [...parameters.map((p) => ({ ...task(p.slug, p.name), kind: "parameter" as const })), ...slugs.map((s) => task(s))];
  const edges = slugs.slice(1).map((s, i) => ({ upstream: slugs[i]!, downstream: s, key: 0, mapped: false }));
  return {
    name: spec.name ?? "hello",
    tasks,
    edges,
    parameters,
    referenceTasks: [],
    schedule: spec.schedule ?? null,
    runConfig: { env: {}, labels: [...(spec.labels ?? [])].sort() },
    result: null,
    storage: { type: "Module", module: "test.flows" },
    formatVersion: 1,
  };
}

/** An interval schedule, each clock with its parameter defaults. */
export function intervalSchedule(...clockDefaults: Array<Record<string, unknown>>): SerializedSchedule {
  return {
    clocks: (clockDefaults.length ? clockDefaults : [{}]).map((parameterDefaults) => ({
      type: "IntervalClock" as const,
      intervalMs: 3_600_000,
      startDate: "2024-01-01T00:00:00.000Z",
      parameterDefaults,
      labels: [],
    })),
  };
}

/** Register a flow in the test project. */
export async function registerFlow(b: TestBackend, spec: FlowSpec = {}, extra: { idempotencyKey?: string | null } = {}) {
  return b.services.createFlow({ serializedFlow: serializedFlow(spec), projectId: b.projectId, ...extra });
}

/** `fn` called `n` times one after another (creation order matters to the tests), its results. */
export async function times<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < n; i++) results.push(await fn(i));
  return results;
}

/** Read one row as an object (tests look at what was stored). */
export async function row(b: Pick<TestBackend, "sql">, sql: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
  // null when there is none, as a statement's get() gives
  return ((await b.sql<Record<string, any>>(sql, params))[0] ?? null) as Record<string, any>;
}

export function rows(b: Pick<TestBackend, "sql">, sql: string, params: Record<string, unknown> = {}): Promise<Array<Record<string, any>>> {
  return b.sql<Record<string, any>>(sql, params);
}
