/**
 * Control-flow signals a task may throw to choose its own final state (Prefect's
 * `engine.signals`). They are not errors: the runner turns each into a state.
 */
export abstract class Signal {
  abstract readonly kind: "skip" | "fail" | "retry";
  constructor(readonly message: string = "") {}
}
/** End the task Skipped; downstream tasks skip too unless they opt out. */
export class SKIP extends Signal {
  readonly kind = "skip" as const;
}
/** End the task Failed with this message (retries still apply). */
export class FAIL extends Signal {
  readonly kind = "fail" as const;
}
/** Ask for a retry now, even without maxRetries left to spend. */
export class RETRY extends Signal {
  readonly kind = "retry" as const;
}
