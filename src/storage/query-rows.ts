import type { Dialect } from "./query-dialect.ts";
import { declaration, intervalText } from "./query-where.ts";
import type { Row } from "./query.ts";
import type { TableName } from "./tables.ts";

// The rows a database returns, as the API sees them.

/** The dialect's raw values turned into the API's (parsed JSON, booleans, ISO times), in place. */
export function decodeRows(dialect: Dialect, table: TableName, rows: Row[]): Row[] {
  if (rows.length === 0) return rows;
  const decl = declaration(table);
  const decoded: Array<[string, (typeof decl.columns)[string]]> = [];
  for (const name of Object.keys(rows[0]!)) {
    const type = Object.hasOwn(decl.columns, name) ? decl.columns[name] : undefined;
    if (type && (type === "interval" || dialect.decodedTypes.includes(type))) decoded.push([name, type]);
  }
  if (decoded.length === 0) return rows;
  const decode = (type: string, value: unknown) =>
    type === "interval" ? (value === null || value === undefined ? value : intervalText(Number(value))) : dialect.decode(type as never, value);
  for (const row of rows) for (const [name, type] of decoded) row[name] = decode(type, row[name]);
  return rows;
}

export function groupByKey(rows: Row[], key: string): Map<unknown, Row[]> {
  const grouped = new Map<unknown, Row[]>();
  for (const row of rows) {
    const k = row[key];
    const list = grouped.get(k);
    if (list) list.push(row);
    else grouped.set(k, [row]);
  }
  return grouped;
}

export function countsByKey(rows: Row[]): Map<unknown, number> {
  const counts = new Map<unknown, number>();
  for (const row of rows) counts.set(row.k, Number(row.n));
  return counts;
}
