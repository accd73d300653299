/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import { healthyWithinMs, LATE_WITHIN_MS, type AgentView } from "../agents-data.ts";
import { Labels, Layout, Time } from "../layout.tsx";

/** `/agents`: every registered agent, its labels, when it last polled and its health. */

const HEALTH_CLASS = { healthy: "st-success", late: "st-retrying", silent: "st-failed" } as const;

export const AgentsPage: FC<{ agents: AgentView[]; signedIn: boolean }> = ({ agents, signedIn }) => (
  <Layout title="Agents" section="agents" signedIn={signedIn}>
    <h1>Agents</h1>
    <p class="muted" id="health-rule">
      Healthy: polled in the last {healthyWithinMs() / 1000} s; late: in the last {LATE_WITHIN_MS / 60_000} minutes; silent: longer ago or never. An
      agent takes a run only when its labels include all of the run's labels.
    </p>
    {agents.length ? (
      <table aria-describedby="health-rule">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Labels</th>
            <th scope="col">Last poll</th>
            <th scope="col">Health</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr data-agent={a.name}>
              <td>{a.name}</td>
              <td>{a.type}</td>
              <td>
                <Labels labels={a.labels} />
              </td>
              <td>{a.lastQueried ? <Time iso={a.lastQueried} /> : <span class="muted">never</span>}</td>
              <td>
                <span class={`badge ${HEALTH_CLASS[a.health]}`} data-health={a.health}>
                  {a.health}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : (
      <p>
        No agents registered. <code>prefectlite serve</code> runs one in-process; <code>prefectlite agent start --label L</code> starts another.
      </p>
    )}
  </Layout>
);
