/**
 * The label of an agentless run (`run --execute`): `agentless-run-<8 hex>`, unique to the run, so
 * no agent's labels cover it and only the process that created it executes it.
 */
export const AGENTLESS_RUN_LABEL_PREFIX = "agentless-run-";

/** The agentless label made from 8 random hex digits (the caller draws them). */
export function agentlessRunLabel(hex8: string): string {
  return `${AGENTLESS_RUN_LABEL_PREFIX}${hex8}`;
}

/** The run's agentless label, if it has one: no agent will ever take such a run. */
export function agentlessLabelOf(labels: readonly string[]): string | undefined {
  return labels.find((l) => l.startsWith(AGENTLESS_RUN_LABEL_PREFIX));
}
