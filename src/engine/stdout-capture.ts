import { currentContext } from "../core/context.ts";

let installed = false;
// node:util is loaded on first use: it costs ~7 ms of start-up.
let inspect: typeof import("node:util").inspect | undefined;
const show = (value: unknown) => (typeof value === "string" ? value : (inspect ??= (require("node:util") as typeof import("node:util")).inspect)(value));

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
      const text = args.map(show).join(" ");
      if (method === "warn") ctx.logger.warning(text);
      else if (method === "error") ctx.logger.error(text);
      else ctx.logger.info(text);
    };
  }
}
