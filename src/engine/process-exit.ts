/**
 * Thrown in place of ending the process when a task calls `process.exit` during a run executed
 * in this process (`prefectlite run -p`): the task fails with this message and is not retried,
 * as it would not be where the exit really ends the run's process (`--execute`, an agent).
 */
export class ProcessExitCalled extends Error {
  constructor(readonly code: string | number | null | undefined) {
    super(`the task called process.exit(${code ?? ""})`);
    this.name = "ProcessExitCalled";
  }
}
