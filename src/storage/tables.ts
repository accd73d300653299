/**
 * One declaration of the tables the API exposes: columns with their types and the relations
 * between tables. The GraphQL query side (types, where/order_by inputs, `*_by_pk`, relations)
 * and the SQL query compiler are generated from this, so a column is added in one place
 * (and in a migration).
 */
import { DEFAULT_TENANT } from "../core/tenant.ts";

/** `interval`: a duration, stored as milliseconds and shown as PostgreSQL's interval text ("00:01:30"). */
export type ColumnType = "uuid" | "string" | "int" | "boolean" | "timestamp" | "json" | "interval";

/**
 * A column the API shows that no table stores: a constant (the one tenant's id on every row, a
 * value prefectlite never varies) or another column shown in another unit (an interval from a
 * milliseconds column). The compiler writes it as an SQL expression wherever a column may stand.
 */
export type VirtualColumn = { constant: string | boolean } | { millisecondsOf: string };

export interface Relation {
  /** The related table. */
  table: string;
  /** "object": at most one related row (many-to-one); "array": a list (one-to-many). */
  kind: "object" | "array";
  /** Column of this table … */
  from: string;
  /** … equal to this column of the related table. */
  to: string;
}

export interface TableDeclaration {
  columns: Record<string, ColumnType>;
  relations: Record<string, Relation>;
  /** Columns that are never exposed (none today; e.g. secrets later). */
  hidden?: string[];
  /** Declared columns that are not stored (they are in `columns` too, with their API type). */
  virtual?: Record<string, VirtualColumn>;
  /** A table no database holds: these are its rows (the one tenant), read as a constant subquery. */
  constantRows?: ReadonlyArray<Record<string, string | boolean | null>>;
}

/** `tenant_id` on every table: always the one tenant's (Prefect Server's tables all carry one). */
const tenantColumn = { tenant_id: "uuid" } as const satisfies Record<string, ColumnType>;
const tenantVirtual = { tenant_id: { constant: DEFAULT_TENANT.id } } satisfies Record<string, VirtualColumn>;
const tenantRelation = { table: "tenant", kind: "object", from: "tenant_id", to: "id" } as const satisfies Relation;

/** When the one tenant was made: prefectlite's tenant has always existed, so a fixed instant. */
const TENANT_CREATED = "2020-01-01T00:00:00.000Z";

const runStateColumns = {
  version: "int",
  state: "string",
  state_timestamp: "timestamp",
  state_message: "string",
  state_result: "json",
  state_start_time: "timestamp",
  serialized_state: "json",
  heartbeat: "timestamp",
  start_time: "timestamp",
  end_time: "timestamp",
} as const satisfies Record<string, ColumnType>;

const stateHistoryColumns = {
  id: "uuid",
  timestamp: "timestamp",
  state: "string",
  message: "string",
  result: "json",
  start_time: "timestamp",
  serialized_state: "json",
  version: "int",
  created: "timestamp",
} as const satisfies Record<string, ColumnType>;

const DECLARED = {
  tenant: {
    columns: { id: "uuid", name: "string", slug: "string", info: "json", settings: "json", created: "timestamp", updated: "timestamp" },
    relations: {},
    constantRows: [
      { id: DEFAULT_TENANT.id, name: DEFAULT_TENANT.name, slug: DEFAULT_TENANT.slug, info: "{}", settings: "{}", created: TENANT_CREATED, updated: TENANT_CREATED },
    ],
  },
  /** Prefect Server tracked this table and no API of Server's wrote it (Cloud's hooks): always empty. */
  cloud_hook: {
    columns: {
      id: "uuid",
      name: "string",
      type: "string",
      states: "json",
      config: "json",
      active: "boolean",
      version_group_id: "string",
      created: "timestamp",
      updated: "timestamp",
    },
    relations: {},
    constantRows: [],
  },
  /**
   * Prefect Server's notifications, which only its cloud hooks wrote (prefectlite has none): always
   * empty. Prefect 1's UI reads it on the dashboard's notifications tile and in its menu.
   */
  message: {
    columns: { id: "uuid", read: "boolean", type: "string", text: "string", content: "json", created: "timestamp", updated: "timestamp" },
    relations: {},
    constantRows: [],
  },
  project: {
    columns: { id: "uuid", name: "string", description: "string", created: "timestamp", updated: "timestamp" },
    relations: { flows: { table: "flow", kind: "array", from: "id", to: "project_id" } },
  },
  flow_group: {
    columns: {
      id: "uuid",
      name: "string",
      labels: "json",
      schedule: "json",
      settings: "json",
      default_parameters: "json",
      run_config: "json",
      description: "string",
      created: "timestamp",
      updated: "timestamp",
    },
    relations: { flows: { table: "flow", kind: "array", from: "id", to: "flow_group_id" } },
  },
  flow: {
    columns: {
      id: "uuid",
      name: "string",
      version: "int",
      version_group_id: "string",
      flow_group_id: "uuid",
      project_id: "uuid",
      archived: "boolean",
      core_version: "string",
      serialized_flow: "json",
      serialized_hash: "string",
      storage: "json",
      run_config: "json",
      parameters: "json",
      schedule: "json",
      is_schedule_active: "boolean",
      description: "string",
      settings: "json",
      environment: "json",
      created: "timestamp",
      updated: "timestamp",
    },
    relations: {
      project: { table: "project", kind: "object", from: "project_id", to: "id" },
      flow_group: { table: "flow_group", kind: "object", from: "flow_group_id", to: "id" },
      tasks: { table: "task", kind: "array", from: "id", to: "flow_id" },
      edges: { table: "edge", kind: "array", from: "id", to: "flow_id" },
      flow_runs: { table: "flow_run", kind: "array", from: "id", to: "flow_id" },
    },
  },
  task: {
    columns: {
      id: "uuid",
      flow_id: "uuid",
      name: "string",
      slug: "string",
      type: "string",
      max_retries: "int",
      retry_delay_ms: "int",
      timeout_ms: "int",
      trigger: "string",
      mapped: "boolean",
      is_root_task: "boolean",
      is_terminal_task: "boolean",
      is_reference_task: "boolean",
      tags: "json",
      description: "string",
      auto_generated: "boolean",
      cache_key: "string",
      retry_delay: "interval",
      created: "timestamp",
    },
    virtual: { retry_delay: { millisecondsOf: "retry_delay_ms" } },
    relations: {
      flow: { table: "flow", kind: "object", from: "flow_id", to: "id" },
      task_runs: { table: "task_run", kind: "array", from: "id", to: "task_id" },
      upstream_edges: { table: "edge", kind: "array", from: "id", to: "downstream_task_id" },
      downstream_edges: { table: "edge", kind: "array", from: "id", to: "upstream_task_id" },
    },
  },
  edge: {
    columns: {
      id: "uuid",
      flow_id: "uuid",
      upstream_task_id: "uuid",
      downstream_task_id: "uuid",
      key: "string",
      mapped: "boolean",
      created: "timestamp",
    },
    relations: {
      flow: { table: "flow", kind: "object", from: "flow_id", to: "id" },
      upstream_task: { table: "task", kind: "object", from: "upstream_task_id", to: "id" },
      downstream_task: { table: "task", kind: "object", from: "downstream_task_id", to: "id" },
    },
  },
  flow_run: {
    columns: {
      id: "uuid",
      flow_id: "uuid",
      name: "string",
      parameters: "json",
      context: "json",
      labels: "json",
      run_config: "json",
      scheduled_start_time: "timestamp",
      auto_scheduled: "boolean",
      idempotency_key: "string",
      times_resurrected: "int",
      agent_id: "uuid",
      created: "timestamp",
      updated: "timestamp",
      ...runStateColumns,
    },
    relations: {
      flow: { table: "flow", kind: "object", from: "flow_id", to: "id" },
      agent: { table: "agent", kind: "object", from: "agent_id", to: "id" },
      states: { table: "flow_run_state", kind: "array", from: "id", to: "flow_run_id" },
      task_runs: { table: "task_run", kind: "array", from: "id", to: "flow_run_id" },
      logs: { table: "log", kind: "array", from: "id", to: "flow_run_id" },
    },
  },
  flow_run_state: {
    columns: { ...stateHistoryColumns, flow_run_id: "uuid" },
    relations: { flow_run: { table: "flow_run", kind: "object", from: "flow_run_id", to: "id" } },
  },
  task_run: {
    columns: {
      id: "uuid",
      flow_run_id: "uuid",
      task_id: "uuid",
      task_slug: "string",
      map_index: "int",
      name: "string",
      cache_key: "string",
      created: "timestamp",
      updated: "timestamp",
      ...runStateColumns,
    },
    relations: {
      flow_run: { table: "flow_run", kind: "object", from: "flow_run_id", to: "id" },
      task: { table: "task", kind: "object", from: "task_id", to: "id" },
      states: { table: "task_run_state", kind: "array", from: "id", to: "task_run_id" },
      logs: { table: "log", kind: "array", from: "id", to: "task_run_id" },
      artifacts: { table: "task_run_artifact", kind: "array", from: "id", to: "task_run_id" },
      task_run_artifacts: { table: "task_run_artifact", kind: "array", from: "id", to: "task_run_id" },
    },
  },
  task_run_artifact: {
    columns: { id: "uuid", task_run_id: "uuid", kind: "string", data: "json", created: "timestamp", updated: "timestamp" },
    relations: { task_run: { table: "task_run", kind: "object", from: "task_run_id", to: "id" } },
  },
  task_run_state: {
    columns: { ...stateHistoryColumns, task_run_id: "uuid" },
    relations: { task_run: { table: "task_run", kind: "object", from: "task_run_id", to: "id" } },
  },
  log: {
    columns: {
      id: "uuid",
      flow_run_id: "uuid",
      task_run_id: "uuid",
      timestamp: "timestamp",
      name: "string",
      level: "string",
      message: "string",
      info: "json",
      is_loaded_from_archive: "boolean",
      created: "timestamp",
    },
    virtual: { is_loaded_from_archive: { constant: false } },
    relations: {
      flow_run: { table: "flow_run", kind: "object", from: "flow_run_id", to: "id" },
      task_run: { table: "task_run", kind: "object", from: "task_run_id", to: "id" },
    },
  },
  agent: {
    columns: {
      id: "uuid",
      name: "string",
      type: "string",
      core_version: "string",
      labels: "json",
      agent_config_id: "uuid",
      last_queried: "timestamp",
      created: "timestamp",
      updated: "timestamp",
    },
    relations: {
      flow_runs: { table: "flow_run", kind: "array", from: "id", to: "agent_id" },
      agent_config: { table: "agent_config", kind: "object", from: "agent_config_id", to: "id" },
    },
  },
  agent_config: {
    columns: { id: "uuid", name: "string", settings: "json", created: "timestamp", updated: "timestamp" },
    relations: { agents: { table: "agent", kind: "array", from: "id", to: "agent_config_id" } },
  },
} as const satisfies Record<string, TableDeclaration>;

type WithTenant<T> = {
  [K in keyof T]: K extends "tenant"
    ? T[K]
    : T[K] extends { columns: infer C; relations: infer R }
      ? Omit<T[K], "columns" | "relations" | "virtual"> & { columns: C & typeof tenantColumn; relations: R & { tenant: typeof tenantRelation }; virtual: Record<string, VirtualColumn> }
      : never;
};

function withTenant<T extends Record<string, TableDeclaration>>(tables: T): WithTenant<T> {
  const out: Record<string, TableDeclaration> = {};
  for (const [name, decl] of Object.entries(tables)) {
    out[name] =
      name === "tenant"
        ? decl
        : {
            ...decl,
            columns: { ...decl.columns, ...tenantColumn },
            relations: { ...decl.relations, tenant: tenantRelation },
            virtual: { ...decl.virtual, ...tenantVirtual },
          };
  }
  return out as WithTenant<T>;
}

export const TABLES = withTenant(DECLARED);

export type TableName = keyof typeof TABLES;

export function isTableName(name: string): name is TableName {
  return Object.hasOwn(TABLES, name);
}
