import { isPrefectliteError, errorMessage } from "../core/errors.ts";
import { writeStderr } from "../stdio.ts";

/** SPEC §3's exit codes, decided here and nowhere else. */
export const EXIT = { ok: 0, runFailed: 1, usage: 2, unreachable: 3 } as const;

export function exitCodeFor(e: unknown): number {
  if (isPrefectliteError(e)) {
    if (e.code === "Unavailable") return EXIT.unreachable;
    if (e.code === "Internal") return EXIT.runFailed;
    return EXIT.usage;
  }
  if ((e as { name?: string })?.name === "CACError") return EXIT.usage;
  return EXIT.runFailed;
}

/** Print one line for a failure; a stack only for our own bugs, and only with PREFECTLITE_DEBUG. */
export function printError(e: unknown): void {
  writeStderr(`Error: ${errorMessage(e).split("\n")[0]}\n`);
  if (!isPrefectliteError(e) && process.env.PREFECTLITE_DEBUG && e instanceof Error && e.stack) {
    writeStderr(`${e.stack}\n`);
  }
}

/** A CLI failure the user should read as one line, with the exit code to leave with. */
export class CliExit extends Error {
  constructor(readonly exitCode: number, message = "") {
    super(message);
  }
}
