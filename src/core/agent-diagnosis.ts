/**
 * Why a flow run has not started: which registered agents could take it (their labels include
 * all of the run's labels) and whether they are polling. Pure: the caller reads the agents.
 * Used by `run --watch` (its agent warning) and by run creation (the "no agent" warning).
 */

export interface AgentInfo {
  id: string;
  name: string;
  labels: readonly string[];
  /** When it last polled (ISO time), or null if never. */
  lastQueried: string | null;
}

/** An agent takes a run only if its labels include all of the run's labels. */
export function agentCovers(agentLabels: readonly string[], runLabels: readonly string[]): boolean {
  const have = new Set(agentLabels);
  return runLabels.every((l) => have.has(l));
}

/**
 * The one definition of a live (healthy) agent: it polled within this long — a minute, or three
 * polls if they are slower. The agentless fallback (no live agent covers a sub-flow's labels),
 * `run --watch`'s diagnosis and the UI's agent health all read it.
 */
export function healthyWithinMs(agentPollSeconds: number): number {
  return Math.max(60_000, 3 * agentPollSeconds * 1000);
}

/** Whether an agent that last polled at `lastQueried` (ISO time, or null: never) is live at `now`. */
export function isAgentLive(lastQueried: string | null, now: Date, agentPollSeconds: number, withinMs = healthyWithinMs(agentPollSeconds)): boolean {
  if (!lastQueried) return false;
  const polled = Date.parse(lastQueried);
  return Number.isFinite(polled) && now.getTime() - polled <= withinMs;
}

/** `prefectlite agent start --label a --label b` for these run labels. */
export function agentStartCommand(runLabels: readonly string[], name?: string): string {
  const parts = ["prefectlite agent start", ...runLabels.map((l) => `--label ${quote(l)}`)];
  if (name) parts.push(`--name ${quote(name)}`);
  return parts.join(" ");
}

function quote(s: string): string {
  return /^[\w.:@/+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** "3 s ago", "5 minutes ago", "never". */
export function ago(iso: string | null, now: Date): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} minutes ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} hours ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

const labelList = (labels: readonly string[]) => `[${labels.join(", ")}]`;
const named = (a: AgentInfo) => `Agent '${a.name}' (${a.id})`;

/** The warning at run creation when no registered agent covers the run, else undefined. */
export function uncoveredRunWarning(runLabels: readonly string[], agents: readonly AgentInfo[]): string | undefined {
  if (agents.some((a) => agentCovers(a.labels, runLabels))) return undefined;
  const what = runLabels.length
    ? `no registered agent has labels that include all of this run's labels ${labelList(runLabels)}`
    : "no agent is registered";
  return `Warning: ${what}, so no agent will take this run until one is started: ${agentStartCommand(runLabels)}` +
    (runLabels.length ? "" : " (or prefectlite serve, whose in-process agent takes runs without labels)");
}

/**
 * Why a run that is still waiting has not started: no agent covers its labels (and the command
 * that starts one), or the matching agents have stopped polling (name them, say when they last
 * polled), or a healthy matching agent exists and should take it.
 */
export function diagnoseWaitingRun(
  run: { labels: readonly string[]; state: string },
  agents: readonly AgentInfo[],
  now: Date,
  healthyMs: number,
): string {
  const healthy = (a: AgentInfo) => isAgentLive(a.lastQueried, now, 0, healthyMs);
  const matching = agents.filter((a) => agentCovers(a.labels, run.labels));
  const live = matching.filter(healthy);
  const stale = matching.filter((a) => !healthy(a));
  if (run.state === "Submitted") {
    return "An agent took it (Submitted) but its process has not started running it: the agent's output says why; " +
      "if that process died, Lazarus reschedules the run.";
  }
  if (live.length === 1) {
    const a = live[0]!;
    return `${named(a)} has matching labels and last polled ${ago(a.lastQueried, now)}. It should pick up your flow run ` +
      "(unless it is busy with as many runs as its --concurrency allows).";
  }
  if (live.length > 1) {
    return `${live.length} healthy agents have matching labels (${live.map((a) => `'${a.name}'`).join(", ")}). ` +
      "One of them should pick up your flow run (unless they are all busy at their --concurrency).";
  }
  if (stale.length === 1) {
    const a = stale[0]!;
    return `${named(a)} has matching labels but last polled ${ago(a.lastQueried, now)}: it looks stopped. ` +
      `Restart it: ${agentStartCommand(a.labels, a.name)}`;
  }
  if (stale.length > 1) {
    const list = stale.map((a) => `'${a.name}' (last polled ${ago(a.lastQueried, now)})`).join(", ");
    return `${stale.length} agents have matching labels but none has polled recently: ${list}. ` +
      `Restart one: ${agentStartCommand(run.labels)}`;
  }
  const others = agents.filter(healthy).length;
  const start = `Start one with: ${agentStartCommand(run.labels)}`;
  if (others > 0) {
    return `You have ${others} healthy agent(s), but none whose labels include all of this run's labels ${labelList(run.labels)}. ${start}`;
  }
  return run.labels.length
    ? `No registered agent has labels that include all of this run's labels ${labelList(run.labels)}. ${start}`
    : `No agent is running. ${start} (or prefectlite serve, whose in-process agent takes runs without labels)`;
}
