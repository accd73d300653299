/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import { STATE_TYPES } from "../../core/state.ts";
import { durationMs, formatDuration, labelsOf } from "../format.ts";
import { ErrorBox, Labels, Layout, StateBadge, Time } from "../layout.tsx";
import type { RunFilters, RunList } from "../runs-data.ts";

/** `/flow-runs`: runs newest first, filtered by flow, state, label and time, a page at a time. */

export interface FlowRunsPageProps {
  list: RunList;
  filters: RunFilters;
  /** The raw query values, to refill the form as typed. */
  query: Record<string, string | undefined>;
  flows: Array<{ value: string; text: string }>;
  problems: string[];
  now: Date;
  signedIn: boolean;
}

/** This list's URL with `page` replaced. */
function pageHref(query: Record<string, string | undefined>, page: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v && k !== "page") params.set(k, v);
  params.set("page", String(page));
  return `/flow-runs?${params}`;
}

export const FlowRunsPage: FC<FlowRunsPageProps> = ({ list, filters, query, flows, problems, now, signedIn }) => (
  <Layout title="Flow runs" section="flow-runs" signedIn={signedIn}>
    <h1>Flow runs</h1>
    <form method="get" action="/flow-runs" class="card filters" aria-label="Filter flow runs">
      <div>
        <label for="f-flow">Flow</label>
        <select id="f-flow" name="flow">
          <option value="">all flows</option>
          {flows.map((f) => (
            <option value={f.value} selected={f.value === filters.flow}>
              {f.text}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="f-state">State</label>
        <select id="f-state" name="state">
          <option value="">any state</option>
          {STATE_TYPES.map((s) => (
            <option value={s} selected={s === filters.state}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="f-label">Label</label>
        <input type="text" id="f-label" name="label" value={query.label ?? ""} />
      </div>
      <div>
        <label for="f-from">Created from</label>
        <input type="datetime-local" id="f-from" name="from" value={query.from ?? ""} />
      </div>
      <div>
        <label for="f-to">Created until</label>
        <input type="datetime-local" id="f-to" name="to" value={query.to ?? ""} />
      </div>
      <div>
        <button type="submit">Filter</button> <a href="/flow-runs">Clear</a>
      </div>
    </form>
    <ErrorBox message={problems.length ? `Ignored: ${problems.join("; ")}` : undefined} />
    <p id="run-count">
      {list.total} run{list.total === 1 ? "" : "s"}
      {list.total ? `, page ${filters.page} of ${list.pages}` : ""}
    </p>
    {list.runs.length ? (
      <table aria-describedby="run-count">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Flow</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">Start</th>
            <th scope="col">Duration</th>
            <th scope="col">Labels</th>
          </tr>
        </thead>
        <tbody>
          {list.runs.map((r) => (
            <tr data-run={r.id}>
              <td>
                <a href={`/flow-run/${r.id}`}>{r.name}</a>
              </td>
              <td>
                <a href={`/flow/${r.flowId}`}>{r.flowName}</a> <span class="muted">v{r.flowVersion}</span>
              </td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>
                <Time iso={r.created} />
              </td>
              <td>
                <Time iso={r.startTime ?? r.scheduledStartTime} />
                {r.startTime ? null : <span class="muted"> (scheduled)</span>}
              </td>
              <td>{formatDuration(durationMs(r.startTime, r.endTime, now))}</td>
              <td>
                <Labels labels={labelsOf(r.labels)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : (
      <p class="muted">No runs match.</p>
    )}
    <nav class="pager" aria-label="Pages">
      {filters.page > 1 ? <a href={pageHref(query, filters.page - 1)} rel="prev">← Newer</a> : null}
      {filters.page < list.pages ? <a href={pageHref(query, filters.page + 1)} rel="next">Older →</a> : null}
    </nav>
  </Layout>
);
