import { LoopService } from "../loops/loop-service.ts";
import type { KillZombiesResult, Services } from "../services/index.ts";
import { settings } from "../settings.ts";

export interface SafeguardLoopOptions {
  /** Time between passes; default PREFECTLITE_LOOP_SECONDS. */
  intervalMs?: () => number;
  onError?: (message: string) => void;
  /** Told what a pass changed, when it changed anything (serve prints it). */
  onChange?: (line: string) => void;
}

/**
 * The zombie killer loop: every PREFECTLITE_LOOP_SECONDS, the Running task runs of flow runs
 * that missed PREFECTLITE_ZOMBIE_MISSED_HEARTBEATS beats of PREFECTLITE_HEARTBEAT_SECONDS in a
 * row become Retrying (retries left) or Failed. The rule is services' `killZombies`.
 */
export class ZombieKiller extends LoopService {
  constructor(
    private readonly services: Pick<Services, "killZombies">,
    private readonly options: SafeguardLoopOptions = {},
  ) {
    super("zombie killer", options.intervalMs ?? (() => settings.loopSeconds() * 1000), options.onError);
  }

  /** How long a run may go without a heartbeat before its task runs are declared lost. */
  static staleAfterMs(): number {
    return settings.zombieMissedHeartbeats() * settings.heartbeatSeconds() * 1000;
  }

  async runOnce(): Promise<KillZombiesResult> {
    const result = await this.services.killZombies({ staleAfterMs: ZombieKiller.staleAfterMs() });
    const changed = result.retried + result.failed + result.cancelled;
    if (changed > 0) {
      this.options.onChange?.(
        `Zombie killer: ${result.retried} task run(s) set Retrying, ${result.failed} Failed, ${result.cancelled} cancelling run(s) Cancelled (no heartbeat)`,
      );
    }
    return result;
  }
}
