import type { Services } from "../services/index.ts";

/**
 * The services with a listener told after every write that may have made a run due: a new
 * run, a flow-run state change to Scheduled (a re-run, a reschedule) and a restart. `serve` wakes its
 * in-process agent and re-arms the scheduler's due alarm with it, so a run created through the
 * API starts at once instead of at the next poll.
 */
export function observeRunChanges(services: Services, listener: () => void): Services {
  const notify = () => {
    try {
      listener();
    } catch {
      // a listener never fails the write that told it
    }
  };
  return {
    ...services,
    createFlowRun(input) {
      const result = services.createFlowRun(input);
      if (result.created) notify();
      return result;
    },
    restartFlowRun(input) {
      const result = services.restartFlowRun(input);
      notify();
      return result;
    },
    setFlowRunStates(items, options) {
      const result = services.setFlowRunStates(items, options);
      if (items.some((i) => isScheduled(i.state))) notify();
      return result;
    },
  };
}

function isScheduled(state: unknown): boolean {
  if (typeof state === "string") return /"type"\s*:\s*"Scheduled"/.test(state);
  return (state as { type?: unknown } | null)?.type === "Scheduled";
}
