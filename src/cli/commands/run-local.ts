import { PrefectliteError } from "../../core/errors.ts";
import type { LogLevel } from "../../core/logging.ts";
import { formatLogLine } from "../../engine/log-format.ts";
import { resolveFlowParameters, runFlow } from "../../engine/flow-runner.ts";
import { ProcessExitCalled } from "../../engine/process-exit.ts";
import { loadFlowsFromFile, loadFlowsFromModule, selectFlow } from "../../loader/load.ts";
import { settings } from "../../settings.ts";
import { EXIT } from "../exit.ts";
import { prefectModuleHint } from "../module-hint.ts";
import { hasParameters, typedParameters, type CliParameters } from "../options.ts";
import { step } from "../output.ts";
import { writeStderr, writeStdout } from "../../stdio.ts";

export interface LocalRunOptions {
  path?: string;
  module?: string;
  name?: string;
  parameters: CliParameters;
  logLevel?: LogLevel;
}

/** `prefectlite run -p PATH | -m MODULE`: load the flow and run it here, with no backend. */
export async function runLocal(options: LocalRunOptions): Promise<number> {
  const flow = await step("Retrieving local flow...", async () => {
    const loaded = options.path ? await loadFlowsFromFile(options.path) : await loadModuleWithHint(options.module!);
    return selectFlow(loaded, options.name);
  });
  const given = typedParameters(options.parameters, flow.graph.parameters);
  const parameters = resolveFlowParameters(flow, given);
  if (hasParameters(options.parameters)) {
    writeStdout(`Configured local flow run\n└── Parameters: ${JSON.stringify(given)}\n`);
  }
  // No SIGINT handler: a handler only runs once the event loop turns, and a flow looping
  // synchronously (at import or in a task) never lets it. Ctrl-C ends the process at once (130).
  const logLevel = options.logLevel ?? "INFO";
  writeStdout("Running flow locally...\n");
  const exits = trapProcessExit();
  let state;
  try {
    state = await runFlow(flow, {
      resolvedParameters: parameters,
      logLevel,
      resultsDir: settings.resultsDir(),
      reporter: {
        setFlowRunState() {},
        setTaskRunState() {},
        log: (r) => writeStdout(`└── ${formatLogLine(r)}\n`),
      },
    });
  } finally {
    exits.restore();
  }
  if (state.isSuccessful() && exits.called) {
    // Called from a timer, or caught by the task: the exit would still have ended the run there.
    writeStdout(`process.exit(${exits.called.code ?? ""}) was called during the run (from a timer, or caught by the task): the run counts as failed\n`);
    writeStdout("Flow run failed!\n");
    return EXIT.runFailed;
  }
  if (state.isSuccessful()) {
    writeStdout("Flow run succeeded!\n");
    return EXIT.ok;
  }
  writeStdout(state.isCancelled() ? "Flow run cancelled.\n" : "Flow run failed!\n");
  return EXIT.runFailed;
}

async function loadModuleWithHint(module: string) {
  try {
    return await loadFlowsFromModule(module);
  } catch (e) {
    const hint = prefectModuleHint(module);
    if (hint && e instanceof PrefectliteError) throw new PrefectliteError(e.code, `${e.message}${hint}`, { cause: e });
    throw e;
  }
}

/**
 * While the flow runs here, a task calling `process.exit` fails (with "the task called
 * process.exit(N)") instead of ending the CLI mid-run with no verdict: the run ends Failed with
 * "Flow run failed!" and exit 1, as it does under `--execute`, where the exit ends the run's own
 * process.
 */
function trapProcessExit(): { readonly called: ProcessExitCalled | undefined; restore(): void } {
  const original = process.exit;
  let called: ProcessExitCalled | undefined;
  process.exit = ((code?: string | number | null) => {
    const exit = new ProcessExitCalled(code);
    called ??= exit;
    throw exit;
  }) as typeof process.exit;
  // Thrown outside any task (from a timer, say), the stand-in would be reported as uncaught.
  const onUncaught = (error: unknown) => {
    if (!(error instanceof ProcessExitCalled)) writeStderr(`${Bun.inspect(error)}\n`);
  };
  process.on("uncaughtException", onUncaught);
  return {
    get called() {
      return called;
    },
    restore() {
      process.exit = original;
      process.off("uncaughtException", onUncaught);
    },
  };
}
