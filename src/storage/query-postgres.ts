import type { SQL } from "bun";
import { validationError } from "../core/errors.ts";
import {
  aggregateValues,
  checkArgs,
  compileAggregate,
  compileAggregateRelated,
  compileByPk,
  compileCount,
  compileCountRelated,
  compilePlanned,
  compileRelated,
  compileSelect,
  factsOf,
  type Compiled,
  type Compiler,
} from "./query-compile.ts";
import { isUuid, POSTGRES } from "./query-dialect.ts";
import { countsByKey, decodeRows, groupByKey } from "./query-rows.ts";
import { relationOf, type SchemaFacts } from "./query-where.ts";
import type { QueryEngine, Row } from "./query.ts";
import { TABLES } from "./tables.ts";

// The query engine on PostgreSQL (Bun's SQL client: `$n` parameters through sql.unsafe, prepared per connection).

/** The query engine over a PostgreSQL pool (schema facts are read on first use). */
export function createPostgresQueryEngine(sql: SQL): QueryEngine {
  let compiler: Promise<Compiler> | undefined;
  const ready = () => (compiler ??= readPostgresFacts(sql).then((facts) => ({ dialect: POSTGRES, facts })));
  ready().catch(() => {
    compiler = undefined; // retried by the next query (the database may come back)
  });

  const all = async ({ sql: text, params }: Compiled): Promise<Row[]> => {
    try {
      return [...((await sql.unsafe(text, params as unknown[])) as Row[])];
    } catch (e) {
      throw postgresTooComplex(e) ?? e;
    }
  };

  return {
    async select(table, args = {}, columns) {
      return decodeRows(POSTGRES, table, await all(compileSelect(await ready(), table, args, columns)));
    },

    async byPk(table, id, columns) {
      if (typeof id !== "string") throw validationError(`${table}_by_pk: expected an id`);
      if (!isUuid(id)) return null; // PostgreSQL would refuse to compare it with a uuid column
      const rows = await all(compileByPk(POSTGRES, table, id, columns));
      return rows.length ? decodeRows(POSTGRES, table, rows)[0]! : null;
    },

    async count(table, where) {
      return Number((await all(compileCount(POSTGRES, table, where)))[0]!.n);
    },

    async selectRelated(table, name, keys, args = {}, columns) {
      const compiled = compileRelated(await ready(), table, name, keys, args, columns);
      if (!compiled) return new Map();
      return groupByKey(decodeRows(POSTGRES, compiled.target, await all(compiled)), compiled.key);
    },

    async countRelated(table, name, keys, where) {
      const compiled = compileCountRelated(POSTGRES, table, name, keys, where);
      return compiled ? countsByKey(await all(compiled)) : new Map();
    },

    async aggregate(table, args, specs) {
      return aggregateValues(POSTGRES, table, specs, (await all(compileAggregate(await ready(), table, args, specs)))[0]);
    },

    async aggregateRelated(table, name, keys, args, specs) {
      const compiled = compileAggregateRelated(await ready(), table, name, keys, args, specs);
      if (!compiled) return new Map();
      const target = relationOf(table, name)!.table;
      return new Map((await all(compiled)).map((row) => [row.k, aggregateValues(POSTGRES, target, specs, row)]));
    },

    check: (table, args) => checkArgs(POSTGRES, table, args),

    async queryPlan(request) {
      const compiled = compilePlanned(await ready(), request);
      if (!compiled) return [];
      const rows = await all({ sql: `EXPLAIN (FORMAT JSON) ${compiled.sql}`, params: compiled.params });
      const plan = (rows[0]?.["QUERY PLAN"] as Array<{ Plan: PlanNode }> | undefined)?.[0]?.Plan;
      return plan ? planLines(plan) : [];
    },
  };
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Scan Direction"?: string;
  "Relation Name"?: string;
  Alias?: string;
  Plans?: PlanNode[];
}

/** The plan's nodes, depth first: "Index Scan using flow_run_pkey on flow_run t0", "Sort", … */
function planLines(root: PlanNode): string[] {
  const lines: string[] = [];
  const visit = (node: PlanNode) => {
    let line = node["Node Type"] + (node["Scan Direction"] === "Backward" ? " Backward" : "");
    if (node["Index Name"]) line += ` using ${node["Index Name"]}`;
    if (node["Relation Name"]) line += ` on ${node["Relation Name"]}${node.Alias && node.Alias !== node["Relation Name"] ? ` ${node.Alias}` : ""}`;
    lines.push(line);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(root);
  return lines;
}

/** PostgreSQL's limits and refusals of a value, as the Validation errors they are. */
function postgresTooComplex(error: unknown): Error | undefined {
  const state = (error as { errno?: unknown } | null)?.errno;
  const message = error instanceof Error ? error.message : String(error);
  if (state === "54000" || state === "54001") {
    return validationError(`the query is too large for the database (PostgreSQL: ${message}): use fewer conditions or smaller values`);
  }
  // Out of range, malformed text of a type, bad dates, NUL characters (text and jsonb hold none).
  if (["22003", "22P02", "22007", "22008", "22021", "22P05"].includes(state as string)) {
    return validationError(`a value of this query does not fit its column (PostgreSQL: ${message})`);
  }
  return undefined;
}

/** NOT NULL columns of every declared table (information_schema of the current schema). */
async function readPostgresFacts(sql: SQL): Promise<SchemaFacts> {
  const rows = (await sql`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND is_nullable = 'NO'`) as Array<{ table_name: string; column_name: string }>;
  const notNull = new Map<string, Set<string>>();
  for (const { table_name, column_name } of rows) {
    if (!Object.hasOwn(TABLES, table_name)) continue;
    let set = notNull.get(table_name);
    if (!set) notNull.set(table_name, (set = new Set()));
    set.add(column_name);
  }
  return factsOf(notNull);
}
