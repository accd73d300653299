#!/usr/bin/env bun
import { main } from "./cli/main.ts";

const code = await main(process.argv);
// Let stdout drain, then leave with the code (open handles such as timers must not keep us alive).
// No code: `exec` ran a user's script, which ends the process when its own work is done.
if (code !== undefined) {
  process.exitCode = code;
  process.exit(code);
}
