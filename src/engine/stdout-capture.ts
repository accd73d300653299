import { inspect } from "node:util";
import { currentContext } from "../core/context.ts";

let installed = false;

/**
 * Route console.log/info/warn/error of tasks with `logStdout` to their run logger. The context
 * is per async call chain, so concurrent tasks never take each other's output; everything else
 * prints as usual.
 */
export function installStdoutCapture(): void {
  if (installed) return;
  installed = true;
  for (const method of ["log", "info", "warn", "error"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const ctx = currentContext();
      if (!ctx?.logStdout) return original(...args);
      const text = args.map((a) => (typeof a === "string" ? a : inspect(a))).join(" ");
      if (method === "warn") ctx.logger.warning(text);
      else if (method === "error") ctx.logger.error(text);
      else ctx.logger.info(text);
    };
  }
}
