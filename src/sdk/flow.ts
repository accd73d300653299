import { validationError } from "../core/errors.ts";
import { Flow as FlowDefinition } from "../core/flow.ts";
import { refuseSnakeCase } from "../client/snake-case.ts";
import type { LogLevel } from "../core/logging.ts";
import { serializeFlow, serializedHash, type SerializedFlow } from "../core/serialize.ts";
import { formatLogLine } from "../engine/log-format.ts";
import { runFlow, type FlowRunState } from "../engine/flow-runner.ts";
import { registerFlow } from "../client/register.ts";
import { settings } from "../settings.ts";
import { Client, type ClientOptions } from "./client.ts";
import { writeStdout } from "../stdio.ts";

export interface LocalRunOptions {
  parameters?: Record<string, unknown>;
  /** Minimum level of the log lines printed (default INFO). */
  logLevel?: LogLevel;
  /** Print no log lines. */
  quiet?: boolean;
  signal?: AbortSignal;
}

export interface RegisterOptions extends ClientOptions {
  /** Registering again with the same key returns the same flow (default: the serialized hash). */
  idempotencyKey?: string;
  /** Labels added to the flow's run config. */
  labels?: string[];
  /** Register a new version even when nothing changed. */
  force?: boolean;
}

/** A flow: a named graph of tasks built by a function, with what it needs to run and register. */
export class Flow extends FlowDefinition {
  /** Run the flow here, with no backend, and return its final state. */
  run(options: LocalRunOptions = {}): Promise<FlowRunState> {
    return runFlow(this, {
      parameters: options.parameters,
      logLevel: options.logLevel ?? "INFO",
      resultsDir: settings.resultsDir(),
      signal: options.signal,
      reporter: {
        setFlowRunState() {},
        setTaskRunState() {},
        log: (r) => {
          if (!options.quiet) writeStdout(`${formatLogLine(r)}\n`);
        },
      },
    });
  }

  /** The JSON form of the flow the backend stores: graph, parameters, schedule, run config, storage. */
  serialize(): SerializedFlow {
    return serializeFlow(this);
  }

  /** Stable digest of the serialized flow (storage excluded): the same source gives the same hash. */
  serializedHash(): string {
    return serializedHash(this.serialize());
  }


  /**
   * Register with the backend (PREFECTLITE_API_URL, else the embedded database) in an existing
   * project and return the flow id: `flow.register("project")` or, as Prefect's
   * `flow.register(project_name=…)`, `flow.register({ projectName: "project", … })`. Unchanged
   * flows are not registered again. A flow not loaded through the CLI is stored as the script Bun
   * is running (`Bun.main`).
   */
  register(projectName: string, options?: RegisterOptions): Promise<string>;
  register(options: RegisterOptions & { projectName: string }): Promise<string>;
  async register(first: string | (RegisterOptions & { projectName: string }), second: RegisterOptions = {}): Promise<string> {
    const { projectName, options } = registerArguments(this.name, first, second);
    this.storage ??= { type: "Local", path: Bun.main };
    const client = new Client(options);
    try {
      const outcome = await registerFlow(client, this, projectName, options);
      return outcome.id;
    } finally {
      await client.close();
    }
  }
}

function registerArguments(flowName: string, first: unknown, second: RegisterOptions): { projectName: string; options: RegisterOptions } {
  const usage = `flow '${flowName}': register needs a project: flow.register("project") or flow.register({ projectName: "project" })`;
  if (typeof first === "string") {
    if (!first.trim()) throw validationError(usage);
    refuseSnakeCase(second, "flow.register");
    return { projectName: first, options: second };
  }
  if (!first || typeof first !== "object") throw validationError(usage);
  refuseSnakeCase(first, "flow.register");
  const { projectName, ...options } = first as RegisterOptions & { projectName?: unknown };
  if (typeof projectName !== "string" || !projectName.trim()) throw validationError(usage);
  return { projectName, options };
}
