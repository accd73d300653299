import { PrefectliteError } from "../../core/errors.ts";
import type { LogLevel } from "../../core/logging.ts";
import { formatLogLine } from "../../engine/log-format.ts";
import { resolveFlowParameters, runFlow } from "../../engine/flow-runner.ts";
import { loadFlowsFromFile, loadFlowsFromModule, selectFlow } from "../../loader/load.ts";
import { settings } from "../../settings.ts";
import { EXIT } from "../exit.ts";
import { prefectModuleHint } from "../module-hint.ts";
import { hasParameters, typedParameters, type CliParameters } from "../options.ts";
import { step } from "../output.ts";
import { writeStdout } from "../../stdio.ts";

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
  const state = await runFlow(flow, {
    resolvedParameters: parameters,
    logLevel,
    resultsDir: settings.resultsDir(),
    reporter: {
      setFlowRunState() {},
      setTaskRunState() {},
      log: (r) => writeStdout(`└── ${formatLogLine(r)}\n`),
    },
  });
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
