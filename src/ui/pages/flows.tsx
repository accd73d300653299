/** @jsxImportSource hono/jsx */
import type { FC } from "hono/jsx";
import type { ProjectFlows, ScheduleView } from "../flows-data.ts";
import { Layout, RunDot } from "../layout.tsx";

/** `/`: every project's flows with their version, schedule and last runs as coloured dots. */

export const ScheduleText: FC<{ schedule: ScheduleView | null }> = ({ schedule }) =>
  schedule ? (
    <span data-schedule={schedule.active ? "on" : "off"}>
      <strong>{schedule.active ? "on" : "off"}</strong> <span class="muted">{schedule.clocks.join("; ")}</span>
    </span>
  ) : (
    <span class="muted" data-schedule="none">
      none
    </span>
  );

export const FlowsPage: FC<{ projects: ProjectFlows[]; signedIn: boolean }> = ({ projects, signedIn }) => (
  <Layout title="Flows" section="flows" signedIn={signedIn}>
    <h1>Flows</h1>
    {projects.length === 0 ? (
      <p>
        No projects yet. Create one with <code>prefectlite create project NAME</code> and register flows with{" "}
        <code>prefectlite register -p FILE --project NAME</code>.
      </p>
    ) : null}
    {projects.map((p) => (
      <section aria-labelledby={`project-${p.id}`}>
        <h2 id={`project-${p.id}`}>Project {p.name}</h2>
        {p.description ? <p class="muted">{p.description}</p> : null}
        {p.flows.length === 0 ? (
          <p class="muted">No flows registered in this project.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">Version</th>
                <th scope="col">Schedule</th>
                <th scope="col">Last runs (oldest → newest)</th>
              </tr>
            </thead>
            <tbody>
              {p.flows.map((f) => (
                <tr data-flow={f.name}>
                  <td>
                    <a href={`/flow/${f.id}`}>{f.name}</a>
                  </td>
                  <td>
                    {f.version}
                    {f.versions > 1 ? <span class="muted"> ({f.versions} versions)</span> : null}
                  </td>
                  <td>
                    <ScheduleText schedule={f.schedule} />
                  </td>
                  <td>
                    {f.lastRuns.length ? f.lastRuns.map((r) => <RunDot run={r} />) : <span class="muted">no runs</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    ))}
  </Layout>
);
