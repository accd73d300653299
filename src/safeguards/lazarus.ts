import { LoopService } from "../loops/loop-service.ts";
import type { ResurrectRunsResult, Services } from "../services/index.ts";
import { settings } from "../settings.ts";
import type { SafeguardLoopOptions } from "./zombie-killer.ts";

/**
 * The Lazarus loop: every PREFECTLITE_LOOP_SECONDS, Submitted/Running flow runs silent for
 * PREFECTLITE_LAZARUS_AFTER_SECONDS with no task run still Running are rescheduled (at most 3
 * times, then Failed); an agentless run (`run --execute`), which no agent can take, is failed
 * instead (or, with PREFECTLITE_LAZARUS_RESCHEDULE_AGENTLESS, handed to the agents without its
 * agentless label). The rule is services' `resurrectRuns`; `onRescheduled` lets the in-process
 * agent take them at once.
 */
export class Lazarus extends LoopService {
  constructor(
    private readonly services: Pick<Services, "resurrectRuns">,
    private readonly options: SafeguardLoopOptions & { onRescheduled?: () => void } = {},
  ) {
    super("lazarus", options.intervalMs ?? (() => settings.loopSeconds() * 1000), options.onError);
  }

  async runOnce(): Promise<ResurrectRunsResult> {
    const result = (await this.services.resurrectRuns({
      staleAfterMs: settings.lazarusAfterSeconds() * 1000,
      agentlessRuns: settings.lazarusRescheduleAgentless() ? "reschedule" : "fail",
    }));
    if (result.rescheduled + result.failed > 0) {
      this.options.onChange?.(`Lazarus: ${result.rescheduled} flow run(s) rescheduled, ${result.failed} failed after 3 attempts`);
    }
    if (result.rescheduled > 0) this.options.onRescheduled?.();
    return result;
  }
}
