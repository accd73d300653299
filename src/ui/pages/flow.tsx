/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import type { FlowDetail } from "../flows-data.ts";
import { showJson } from "../format.ts";
import { ErrorBox, Labels, Layout, Notice, StateBadge, Time } from "../layout.tsx";
import type { RunFormValues } from "../run-form.ts";
import { LOG_LEVELS } from "../runs-data.ts";
import { ScheduleText } from "./flows.tsx";

/** `/flow/<id>`: versions, parameters, schedule and settings switches, the Run form, recent runs. */

export interface FlowPageProps {
  detail: FlowDetail;
  signedIn: boolean;
  /** The Run form's values after a refused submit, and why. */
  form?: RunFormValues;
  formError?: string;
  /** An error or notice from a switch. */
  actionError?: string;
  notice?: string;
}

const SWITCHES = [
  { key: "heartbeat_enabled", text: "Heartbeat", help: "runs send heartbeats; the zombie killer watches them" },
  { key: "lazarus_enabled", text: "Lazarus", help: "runs stuck without a live process are rescheduled" },
  { key: "version_locking_enabled", text: "Version lock", help: "a task run enters Running only once" },
] as const;

/** The default parameters as the form's starting JSON. */
export function defaultParametersJson(detail: FlowDetail): string {
  const defaults: Record<string, unknown> = {};
  const group = (detail.group?.default_parameters ?? {}) as Record<string, unknown>;
  for (const p of detail.parameters) {
    if (p.name in group) defaults[p.name] = group[p.name];
    else if (p.default !== null) defaults[p.name] = p.default;
  }
  return JSON.stringify(defaults, null, 2);
}

export const FlowPage: FC<FlowPageProps> = ({ detail, signedIn, form, formError, actionError, notice }) => {
  const { flow, project, schedule, settings } = detail;
  const id = String(flow.id);
  const values: RunFormValues = form ?? {
    parameters: defaultParametersJson(detail),
    runName: "",
    labels: detail.labels.join(", "),
    logLevel: "INFO",
    startAt: "",
  };
  const archived = flow.archived === true;
  return (
    <Layout title={`Flow ${String(flow.name)}`} section="flows" signedIn={signedIn}>
      <h1>
        Flow {String(flow.name)} <span class="muted">version {String(flow.version)}</span>
      </h1>
      <ErrorBox message={actionError} />
      <Notice message={notice} />
      {detail.loadError ? (
        <div class="error" role="alert" data-load-error>
          Its file failed to load at <Time iso={detail.loadError.at} />: {detail.loadError.message}. The registered version stays live.
        </div>
      ) : null}
      <div class="card">
        <dl class="facts">
          <dt>Project</dt>
          <dd>{String(project?.name ?? "?")}</dd>
          <dt>Flow id</dt>
          <dd class="mono">{id}</dd>
          <dt>Status</dt>
          <dd>{archived ? <span class="badge st-cancelled">archived</span> : <span class="badge st-success">live</span>}</dd>
          <dt>Registered</dt>
          <dd>
            <Time iso={flow.created} />
          </dd>
          <dt>Storage</dt>
          <dd class="mono">{showJson(flow.storage)}</dd>
          <dt>Labels</dt>
          <dd>
            <Labels labels={detail.labels} />
          </dd>
          <dt>Runs</dt>
          <dd>
            <a href={`/flow-runs?flow=${encodeURIComponent(String(flow.version_group_id))}`}>{`${detail.runCount} run${detail.runCount === 1 ? "" : "s"} of every version`}</a>
          </dd>
        </dl>
      </div>

      <div class="grid2">
        <section aria-labelledby="parameters">
          <h2 id="parameters">Parameters</h2>
          {detail.parameters.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Default</th>
                  <th scope="col">Required</th>
                </tr>
              </thead>
              <tbody>
                {detail.parameters.map((p) => (
                  <tr>
                    <td class="mono">{p.name}</td>
                    <td class="mono">{p.required && p.default === null ? "—" : JSON.stringify(p.default)}</td>
                    <td>{p.required ? "yes" : "no"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">This flow has no parameters.</p>
          )}
        </section>
        <section aria-labelledby="versions">
          <h2 id="versions">Versions</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Registered</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {detail.versions.map((v) => (
                <tr>
                  <td>{v.id === flow.id ? <strong>{String(v.version)} (this)</strong> : <a href={`/flow/${String(v.id)}`}>{String(v.version)}</a>}</td>
                  <td>
                    <Time iso={v.created} />
                  </td>
                  <td>{v.archived ? "archived" : "live"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>

      <section aria-labelledby="schedule">
        <h2 id="schedule">Schedule</h2>
        <p id="schedule-status">
          Schedule: <ScheduleText schedule={schedule} />
          {schedule ? <span class="muted"> (from the {schedule.source})</span> : null}
        </p>
        {schedule && !archived ? (
          <form method="post" action={`/flow/${id}/schedule`}>
            <input type="hidden" name="active" value={schedule.active ? "false" : "true"} />
            <button type="submit" class={schedule.active ? "secondary" : ""} aria-describedby="schedule-status">
              {schedule.active ? "Turn schedule off" : "Turn schedule on"}
            </button>
          </form>
        ) : null}
      </section>

      <section aria-labelledby="settings">
        <h2 id="settings">Settings</h2>
        <div class="switches">
          {SWITCHES.map((s) => {
            const on = settings[s.key];
            return (
              <div class="switch" data-setting={s.key} data-enabled={on ? "true" : "false"}>
                <span id={`setting-${s.key}`} title={s.help}>
                  {s.text}: <strong>{on ? "on" : "off"}</strong>
                </span>
                <form method="post" action={`/flow/${id}/settings`}>
                  <input type="hidden" name="setting" value={s.key} />
                  <input type="hidden" name="enabled" value={on ? "false" : "true"} />
                  <button type="submit" class="secondary" aria-describedby={`setting-${s.key}`}>
                    {on ? `Turn ${s.text.toLowerCase()} off` : `Turn ${s.text.toLowerCase()} on`}
                  </button>
                </form>
              </div>
            );
          })}
        </div>
      </section>

      <section aria-labelledby="run">
        <h2 id="run">Run</h2>
        {archived ? (
          <>
            <ErrorBox message={formError} />
            <p class="muted">This version is archived and takes no new runs; open the live version to run the flow.</p>
          </>
        ) : (
          <form method="post" action={`/flow/${id}/run`} class="card" id="run-form">
            <ErrorBox message={formError} />
            <label for="run-parameters">Parameters (JSON object)</label>
            <textarea
              id="run-parameters"
              name="parameters"
              rows={parameterRows(values.parameters)}
              spellcheck={false}
              aria-invalid={formError ? "true" : undefined}
            >
              {values.parameters}
            </textarea>
            <div class="filters">
              <div>
                <label for="run-name">Run name</label>
                <input type="text" id="run-name" name="run_name" value={values.runName} placeholder="generated when empty" />
              </div>
              <div>
                <label for="run-labels">Labels (comma separated)</label>
                <input type="text" id="run-labels" name="labels" value={values.labels} />
              </div>
              <div>
                <label for="run-log-level">Log level</label>
                <select id="run-log-level" name="log_level">
                  {LOG_LEVELS.map((l) => (
                    <option value={l} selected={l === values.logLevel}>
                      {l}
                    </option>
                  ))}
                </select>
              </div>
              <div>
                <label for="run-start-at">Start at (empty: now)</label>
                <input type="datetime-local" id="run-start-at" name="start_at" value={values.startAt} />
              </div>
            </div>
            <p>
              <button type="submit">Run</button>
            </p>
          </form>
        )}
      </section>

      <section aria-labelledby="recent">
        <h2 id="recent">Recent runs</h2>
        {detail.recentRuns.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Labels</th>
              </tr>
            </thead>
            <tbody>
              {detail.recentRuns.map((r) => (
                <tr>
                  <td>
                    <a href={`/flow-run/${String(r.id)}`}>{String(r.name)}</a>
                  </td>
                  <td>
                    <StateBadge state={r.state} />
                  </td>
                  <td>
                    <Time iso={r.created} />
                  </td>
                  <td>
                    <Labels labels={Array.isArray(r.labels) ? (r.labels as string[]) : []} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No runs yet.</p>
        )}
      </section>

      <section aria-labelledby="tasks">
        <h2 id="tasks">Tasks</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Slug</th>
              <th scope="col">Kind</th>
              <th scope="col">Retries</th>
              <th scope="col">Reference</th>
            </tr>
          </thead>
          <tbody>
            {detail.tasks.map((t) => (
              <tr>
                <td class="mono">{String(t.slug)}</td>
                <td>{String(t.type ?? "task")}</td>
                <td>{String(t.max_retries ?? 0)}</td>
                <td>{t.is_reference_task ? "yes" : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Layout>
  );
};

/** The parameters box is as tall as its JSON (one spare line), between 2 and 20 lines. */
export function parameterRows(text: string): number {
  return Math.min(20, Math.max(2, text.split("\n").length + 1));
}
