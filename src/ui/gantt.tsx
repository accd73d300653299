/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import type { Row } from "../services/read-model.ts";
import { formatDuration, stateClass } from "./format.ts";

/**
 * The timeline of a flow run's task runs as an SVG Gantt chart: one row per task, a bar from
 * its start to its end (or now, while running); a mapped task is a group: its row spans its
 * children, which follow as thinner rows (the first MAX_CHILDREN, then a count of the rest).
 */

export const MAX_CHILDREN = 30;
const WIDTH = 1000;
const LABEL_WIDTH = 230;
const CHART = WIDTH - LABEL_WIDTH - 20;
const ROW = 24;
const CHILD_ROW = 16;
const AXIS = 26;

interface Span {
  start: number | undefined;
  end: number | undefined;
}

export interface GanttRow {
  kind: "task" | "child" | "more";
  label: string;
  slug: string;
  mapIndex: number;
  state: string;
  span: Span;
  /** Children in a "more" row. */
  hidden?: number;
}

const time = (v: unknown) => (typeof v === "string" ? Date.parse(v) : undefined);

function spanOf(run: Row, now: number): Span {
  const start = time(run.start_time);
  const end = time(run.end_time) ?? (start !== undefined ? now : undefined);
  return { start, end };
}

/** Rows in the order the chart draws them: tasks by start time (unstarted last), children under their task. */
export function ganttRows(taskRuns: readonly Row[], now: Date): GanttRow[] {
  const bySlug = new Map<string, { parent: Row | undefined; children: Row[] }>();
  for (const run of taskRuns) {
    const slug = String(run.task_slug);
    const entry = bySlug.get(slug) ?? { parent: undefined, children: [] };
    if (Number(run.map_index) < 0) entry.parent = run;
    else entry.children.push(run);
    bySlug.set(slug, entry);
  }
  const t = now.getTime();
  const groups = [...bySlug].map(([slug, { parent, children }]) => {
    children.sort((a, b) => Number(a.map_index) - Number(b.map_index));
    const childSpans = children.map((c) => spanOf(c, t));
    let span = parent ? spanOf(parent, t) : { start: undefined, end: undefined };
    if (children.length) {
      const starts = childSpans.map((s) => s.start).filter((s): s is number => s !== undefined);
      const ends = childSpans.map((s) => s.end).filter((s): s is number => s !== undefined);
      if (starts.length) span = { start: Math.min(...starts), end: Math.max(...ends, ...starts) };
    }
    return { slug, parent, children, childSpans, span };
  });
  groups.sort((a, b) => (a.span.start ?? Infinity) - (b.span.start ?? Infinity) || a.slug.localeCompare(b.slug));
  const rows: GanttRow[] = [];
  for (const g of groups) {
    const state = String(g.parent?.state ?? g.children[0]?.state ?? "Pending");
    rows.push({ kind: "task", label: g.children.length ? `${g.slug} (${g.children.length} mapped)` : g.slug, slug: g.slug, mapIndex: -1, state, span: g.span });
    g.children.slice(0, MAX_CHILDREN).forEach((c, i) => {
      rows.push({ kind: "child", label: `[${Number(c.map_index)}]`, slug: g.slug, mapIndex: Number(c.map_index), state: String(c.state), span: g.childSpans[i]! });
    });
    if (g.children.length > MAX_CHILDREN) {
      const hidden = g.children.length - MAX_CHILDREN;
      rows.push({ kind: "more", label: `… ${hidden} more`, slug: g.slug, mapIndex: -1, state: "", span: { start: undefined, end: undefined }, hidden });
    }
  }
  return rows;
}

const rowHeight = (r: GanttRow) => (r.kind === "task" ? ROW : CHILD_ROW);

export const Gantt: FC<{ taskRuns: readonly Row[]; now: Date }> = ({ taskRuns, now }) => {
  const rows = ganttRows(taskRuns, now);
  if (!rows.length) return <p class="muted">No task runs yet.</p>;
  const starts = rows.map((r) => r.span.start).filter((s): s is number => s !== undefined);
  const ends = rows.map((r) => r.span.end).filter((s): s is number => s !== undefined);
  const t0 = starts.length ? Math.min(...starts) : 0;
  const t1 = Math.max(t0 + 1, ...ends);
  const x = (t: number) => LABEL_WIDTH + ((t - t0) / (t1 - t0)) * CHART;
  const height = AXIS + rows.reduce((h, r) => h + rowHeight(r), 0) + 8;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  let y = AXIS;
  const started = rows.filter((r) => r.kind !== "more" && r.span.start !== undefined).length;
  return (
    <svg
      class="gantt"
      viewBox={`0 0 ${WIDTH} ${height}`}
      role="img"
      aria-label={`Timeline of ${rows.filter((r) => r.kind !== "more").length} task runs (${started} started) over ${formatDuration(t1 - t0)}`}
      data-rows={String(rows.length)}
    >
      {ticks.map((f) => (
        <g>
          <line class="grid" x1={LABEL_WIDTH + f * CHART} x2={LABEL_WIDTH + f * CHART} y1={AXIS - 6} y2={height} />
          <text class="axis" x={LABEL_WIDTH + f * CHART} y={14} text-anchor={f === 1 ? "end" : f === 0 ? "start" : "middle"}>
            {starts.length ? `+${formatDuration(f * (t1 - t0))}` : ""}
          </text>
        </g>
      ))}
      {rows.map((r) => {
        const h = rowHeight(r);
        const top = y;
        y += h;
        const { start, end } = r.span;
        const hasBar = r.kind !== "more" && start !== undefined && end !== undefined;
        const left = hasBar ? x(start) : 0;
        const width = hasBar ? Math.max(2, x(end) - left) : 0;
        const duration = hasBar ? formatDuration(end - start) : "not started";
        return (
          <g data-task={r.slug} data-map-index={String(r.mapIndex)} data-kind={r.kind}>
            {r.kind !== "task" || r.label.endsWith("mapped)") ? <rect class="group" x={0} y={top} width={WIDTH} height={h} opacity={r.kind === "task" ? 0.6 : 0.35} /> : null}
            <text x={r.kind === "task" ? 6 : 22} y={top + h / 2 + 4}>
              {r.label}
            </text>
            {hasBar ? (
              <rect class={`bar ${stateClass(r.state)}`} x={left} y={top + 3} width={width} height={h - 6} rx={3} data-state={r.state}>
                <title>{`${r.slug}${r.mapIndex >= 0 ? `[${r.mapIndex}]` : ""}: ${r.state}, ${duration}`}</title>
              </rect>
            ) : r.kind !== "more" ? (
              <text class="axis" x={LABEL_WIDTH + 4} y={top + h / 2 + 4}>
                {`${r.state} (not started)`}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
};
