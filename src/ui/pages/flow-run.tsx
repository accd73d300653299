/** @jsxImportSource hono/jsx */
import type { Child, FC } from "hono/jsx";
import { isRestartable } from "../../services/restart.ts";
import type { StateType } from "../../core/state.ts";
import type { Coverage } from "../agents-data.ts";
import { durationMs, formatClock, formatDuration, isFinished, labelsOf, showJson } from "../format.ts";
import { Gantt } from "../gantt.tsx";
import { TaskRunTable } from "../task-run-table.tsx";
import { ErrorBox, Labels, Layout, Notice, StateBadge, Time } from "../layout.tsx";
import { LOG_LEVELS, MAX_LOG_LINES, type RunDetail, type UiLogLevel } from "../runs-data.ts";

/**
 * `/flow-run/<id>`: the run's card, its task runs as a Gantt chart and a table with result
 * locations, its logs (level filter, live tail) and state history, a cancel button, and on a
 * Failed or Cancelled run a restart button. The parts under #live are re-rendered by
 * `/flow-run/<id>/live` while the run is unfinished (so the restart button appears when it fails).
 */

export interface RunPartsProps {
  detail: RunDetail;
  coverage: Coverage;
  now: Date;
  /** Shown just above the logs (the page's level filter; the live fragment has none). */
  logFilter?: Child;
}

/** Runs executed with `--execute` carry this label so that no agent takes them. */
const isAgentless = (labels: string[]) => labels.some((l) => l.startsWith("agentless-run-"));

const AgentBadge: FC<{ labels: string[]; coverage: Coverage; finished: boolean }> = ({ labels, coverage, finished }) => {
  if (finished || isAgentless(labels)) return null;
  if (!coverage.covered) {
    const text = labels.length
      ? `No registered agent has the labels ${labels.join(", ")}: start one with prefectlite agent start ${labels.map((l) => `--label ${l}`).join(" ")}`
      : "No agent is registered: start one with prefectlite agent start (prefectlite serve runs one)";
    return (
      <span class="badge warn" data-badge="no-agent" role="status">
        {text}
      </span>
    );
  }
  if (!coverage.healthy) {
    return (
      <span class="badge warn" data-badge="agent-silent" role="status">
        The agents that could take this run have not polled recently
      </span>
    );
  }
  return null;
};

/** Who executes (or executed) the run: its agent, else what is true of a run without one. */
const AgentFact: FC<{ agent: RunPartsProps["detail"]["agent"]; labels: string[]; finished: boolean; started: boolean }> = (p) => {
  if (p.agent) return <>{`${String(p.agent.name)} (${labelsOf(p.agent.labels).join(", ") || "no labels"})`}</>;
  const text = isAgentless(p.labels)
    ? p.finished
      ? "none: executed here by run --execute (agentless)"
      : "none: run --execute executes it here (agentless)"
    : !p.finished
      ? "none yet"
      : p.started
        ? "none: executed without an agent (agentless)"
        : "none: it ended before an agent took it";
  return <span class="muted">{text}</span>;
};

/** On a run that failed or was cancelled: run it again from its failures (POST, like Cancel). */
const RestartForm: FC<{ id: string; state: StateType }> = ({ id, state }) =>
  isRestartable(state) ? (
    <form method="post" action={`/flow-run/${id}/restart`} class="inline" data-restart>
      <button type="submit" title="Task runs that succeeded keep their states and results; the others and everything downstream of them run again">
        Restart
      </button>
    </form>
  ) : null;

export const RunParts: FC<RunPartsProps> = ({ detail, coverage, now, logFilter }) => {
  const { run, flow, agent, states, taskRuns, logs, logTotal } = detail;
  const labels = labelsOf(run.labels);
  const finished = isFinished(run.state);
  const env = ((run.run_config as { env?: Record<string, unknown> } | null)?.env ?? {}) as Record<string, unknown>;
  return (
    <div data-finished={finished ? "true" : "false"}>
      <div id="run-card" data-live-part class="card">
        <p>
          <StateBadge state={run.state} /> <span id="run-state-message">{String(run.state_message ?? "")}</span>{" "}
          <AgentBadge labels={labels} coverage={coverage} finished={finished} /> <RestartForm id={String(run.id)} state={run.state as StateType} />
        </p>
        <dl class="facts">
          <dt>Flow</dt>
          <dd>{flow ? <a href={`/flow/${String(flow.id)}`}>{`${String(flow.name)} (version ${String(flow.version)})`}</a> : "?"}</dd>
          <dt>Run id</dt>
          <dd class="mono">{String(run.id)}</dd>
          <dt>Scheduled start</dt>
          <dd>
            <Time iso={run.scheduled_start_time} />
          </dd>
          <dt>Started</dt>
          <dd>
            <Time iso={run.start_time} />
          </dd>
          <dt>Ended</dt>
          <dd>
            <Time iso={run.end_time} />
          </dd>
          <dt>Duration</dt>
          <dd>{formatDuration(durationMs(run.start_time, run.end_time, now))}</dd>
          <dt>Labels</dt>
          <dd>
            <Labels labels={labels} />
          </dd>
          <dt>Parameters</dt>
          <dd class="mono">{showJson(run.parameters)}</dd>
          <dt>Context</dt>
          <dd class="mono">{showJson(run.context)}</dd>
          <dt>Log level</dt>
          <dd>{typeof env.PREFECTLITE_LOG_LEVEL === "string" ? env.PREFECTLITE_LOG_LEVEL : "INFO (default)"}</dd>
          <dt>Agent</dt>
          <dd>
            <AgentFact agent={agent} labels={labels} finished={finished} started={run.start_time != null} />
          </dd>
          <dt>Heartbeat</dt>
          <dd>
            <Time iso={run.heartbeat} />
          </dd>
          {Number(run.times_resurrected) > 0 ? (
            <>
              <dt>Rescheduled by Lazarus</dt>
              <dd>{String(run.times_resurrected)} times</dd>
            </>
          ) : null}
        </dl>
      </div>
      <h2>Task runs</h2>
      <div id="run-timeline" data-live-part>
        <Gantt taskRuns={taskRuns} now={now} />
      </div>
      <div id="run-task-runs" data-live-part>
        <TaskRunTable taskRuns={taskRuns} now={now} />
      </div>
      <h2>Logs</h2>
      {logFilter}
      <div id="run-logs" data-live-part>
        {logTotal > logs.length ? (
          <p class="muted">
            Showing the newest {MAX_LOG_LINES} of {logTotal} lines.
          </p>
        ) : null}
        <div class="logs" data-tail tabindex={0} role="log" aria-label="Flow run logs">
          {logs.length ? (
            logs.map((l) => (
              <div class={`line lvl-${String(l.level)}`}>
                {`${formatClock(l.timestamp)} | ${String(l.level).padEnd(7)} | ${String(l.message)}`}
              </div>
            ))
          ) : (
            <div class="line">No logs yet.</div>
          )}
        </div>
      </div>
      <h2>State history</h2>
      <div id="run-states" data-live-part>
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">State</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {states.map((s) => (
              <tr>
                <td>
                  <Time iso={s.timestamp} />
                </td>
                <td>
                  <StateBadge state={s.state} />
                </td>
                <td>{String(s.message ?? "")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
};

export interface FlowRunPageProps extends RunPartsProps {
  level: UiLogLevel;
  signedIn: boolean;
  actionError?: string;
  notice?: string;
}

export const FlowRunPage: FC<FlowRunPageProps> = (props) => {
  const { detail, level } = props;
  const id = String(detail.run.id);
  const finished = isFinished(detail.run.state);
  return (
    <Layout title={`Flow run ${String(detail.run.name)}`} section="flow-runs" signedIn={props.signedIn}>
      <h1>Flow run {String(detail.run.name)}</h1>
      <ErrorBox message={props.actionError} />
      <Notice message={props.notice} />
      {finished ? null : (
        <form method="post" action={`/flow-run/${id}/cancel`} data-hide-when-finished>
          <button type="submit" class="danger">
            Cancel this run
          </button>
        </form>
      )}
      <div id="live" data-live-src={`/flow-run/${id}/live?level=${level}`} data-live={finished ? "finished" : "on"}>
        <RunParts detail={detail} coverage={props.coverage} now={props.now} logFilter={<LogFilter id={id} level={level} />} />
      </div>
    </Layout>
  );
};

const LogFilter: FC<{ id: string; level: UiLogLevel }> = ({ id, level }) => (
  <form method="get" action={`/flow-run/${id}`} class="filters" aria-label="Log level filter">
    <div>
      <label for="log-level">Show logs at or above</label>
      <select id="log-level" name="level">
        {LOG_LEVELS.map((l) => (
          <option value={l} selected={l === level}>
            {l}
          </option>
        ))}
      </select>
    </div>
    <div>
      <button type="submit" class="secondary">
        Filter logs
      </button>
    </div>
  </form>
);
