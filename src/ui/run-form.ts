import { isPrefectliteError } from "../core/errors.ts";
import type { Services } from "../services/index.ts";
import { LOG_LEVELS, type UiLogLevel } from "./runs-data.ts";

/**
 * The "Run" form of a flow's page: read and check its fields, then create the run through
 * the services (which validate the parameters against the flow's: unknown or missing ones are
 * refused). Every problem comes back as a message for the page, never as a thrown error.
 */

/** The environment variable a run's log level travels in, inside its run config's env. */
export const RUN_LOG_LEVEL_ENV = "PREFECTLITE_LOG_LEVEL";

export interface RunFormValues {
  parameters: string;
  runName: string;
  labels: string;
  logLevel: UiLogLevel;
  startAt: string;
}

export type RunFormOutcome = { ok: true; flowRunId: string } | { ok: false; error: string; values: RunFormValues };

const field = (body: Record<string, unknown>, name: string) => (typeof body[name] === "string" ? (body[name] as string) : "");

export function readRunForm(body: Record<string, unknown>): RunFormValues {
  const level = field(body, "log_level").toUpperCase();
  return {
    parameters: field(body, "parameters"),
    runName: field(body, "run_name").trim(),
    labels: field(body, "labels"),
    logLevel: (LOG_LEVELS as readonly string[]).includes(level) ? (level as UiLogLevel) : "INFO",
    startAt: field(body, "start_at").trim(),
  };
}

/** `{"a": 1}` → the object; blank → {}; anything else → a message. */
export function parseParameters(text: string): { value: Record<string, unknown> } | { error: string } {
  if (!text.trim()) return { value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `Parameters are not valid JSON: ${(e as Error).message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: 'Parameters must be a JSON object, such as {"name": "Marvin"}' };
  }
  return { value: value as Record<string, unknown> };
}

/** Labels typed as `a, b c` → ["a", "b", "c"] (sorted, no duplicates). */
export function parseLabels(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))].sort();
}

export interface RunConfigBase {
  env?: Record<string, string>;
  labels?: string[];
  [key: string]: unknown;
}

/** Create the run; `runConfig` is the flow's effective run config, to which a log level other than INFO is added. */
export async function submitRunForm(services: Services, flowId: string, values: RunFormValues, runConfig: RunConfigBase | null): Promise<RunFormOutcome> {
  const fail = (error: string): RunFormOutcome => ({ ok: false, error, values });
  const parsed = parseParameters(values.parameters);
  if ("error" in parsed) return fail(parsed.error);
  let scheduledStartTime: string | undefined;
  if (values.startAt) {
    const at = new Date(values.startAt);
    if (Number.isNaN(at.getTime())) return fail(`'${values.startAt}' is not a start time`);
    scheduledStartTime = at.toISOString();
  }
  // INFO is the default: the run keeps its flow's run config, so an agent may hand it to a warm
  // child (those take only runs whose run config sets no environment).
  const base = runConfig ?? {};
  const withLevel = values.logLevel === "INFO" ? null : { ...base, env: { ...(base.env ?? {}), [RUN_LOG_LEVEL_ENV]: values.logLevel } };
  try {
    const created = (await services.createFlowRun({
      flowId,
      parameters: parsed.value,
      flowRunName: values.runName || null,
      labels: parseLabels(values.labels),
      scheduledStartTime: scheduledStartTime ?? null,
      runConfig: withLevel,
    }));
    return { ok: true, flowRunId: created.id };
  } catch (e) {
    if (isPrefectliteError(e) && e.code !== "Internal") return fail(e.message);
    throw e;
  }
}
