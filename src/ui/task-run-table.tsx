/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import type { Row } from "../services/read-model.ts";
import { durationMs, formatDuration } from "./format.ts";
import { MAX_CHILDREN } from "./gantt.tsx";
import { StateBadge } from "./layout.tsx";

/**
 * A flow run's task runs as a table with their result locations. A mapped task shows its first
 * MAX_CHILDREN children; the rest are one row counting their states (`inspect flow-run` lists all).
 */

const mapIndexOf = (t: Row) => Number(t.map_index);

function resultLocation(serializedState: unknown): string | null {
  const result = (serializedState as { result?: { location?: unknown } } | null)?.result;
  return typeof result?.location === "string" ? result.location : null;
}

type Item = { kind: "run"; run: Row } | { kind: "more"; slug: string; count: number; states: string };

/** Rows in slug and map-index order, children past MAX_CHILDREN folded into one summary per task. */
export function taskRunItems(taskRuns: readonly Row[]): Item[] {
  const sorted = [...taskRuns].sort((a, b) => String(a.task_slug).localeCompare(String(b.task_slug)) || mapIndexOf(a) - mapIndexOf(b));
  const items: Item[] = [];
  const hidden = new Map<string, Row[]>();
  for (const run of sorted) {
    const slug = String(run.task_slug);
    if (mapIndexOf(run) >= MAX_CHILDREN) {
      if (!hidden.has(slug)) {
        hidden.set(slug, []);
        items.push({ kind: "more", slug, count: 0, states: "" });
      }
      hidden.get(slug)!.push(run);
    } else items.push({ kind: "run", run });
  }
  return items.map((item) => {
    if (item.kind === "run") return item;
    const rows = hidden.get(item.slug)!;
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(String(r.state), (counts.get(String(r.state)) ?? 0) + 1);
    const states = [...counts].map(([state, n]) => `${n} ${state}`).join(", ");
    return { ...item, count: rows.length, states };
  });
}

export const TaskRunTable: FC<{ taskRuns: readonly Row[]; now: Date }> = ({ taskRuns, now }) => (
  <table>
    <thead>
      <tr>
        <th scope="col">Task run</th>
        <th scope="col">State</th>
        <th scope="col">Duration</th>
        <th scope="col">Message</th>
        <th scope="col">Result location</th>
      </tr>
    </thead>
    <tbody>
      {taskRunItems(taskRuns).map((item) => {
        if (item.kind === "more") {
          return (
            <tr data-task-run-more={item.slug}>
              <td class="mono" colspan={5}>
                {`… ${item.count} more children of ${item.slug} (${item.states}): prefectlite inspect flow-run lists them all`}
              </td>
            </tr>
          );
        }
        const t = item.run;
        const name = `${String(t.task_slug)}${mapIndexOf(t) >= 0 ? `[${mapIndexOf(t)}]` : ""}`;
        return (
          <tr data-task-run={name}>
            <td class="mono">{name}</td>
            <td>
              <StateBadge state={t.state} />
            </td>
            <td>{formatDuration(durationMs(t.start_time, t.end_time, now))}</td>
            <td>{String(t.state_message ?? "")}</td>
            <td class="mono">{resultLocation(t.serialized_state) ?? <span class="muted">—</span>}</td>
          </tr>
        );
      })}
    </tbody>
  </table>
);
