import { PrefectliteError, validationError } from "./errors.ts";
import { buildWith, GraphBuilder, upstreamSlugs, type GraphNode, type ParameterNode, type TaskNode } from "./graph.ts";
import type { Result } from "./results.ts";
import { toRunConfig, type RunConfig, type RunConfigInput } from "./run-config.ts";
import type { Schedule } from "./schedule/schedule.ts";
import type { Task } from "./task.ts";

export type { RunConfig, RunConfigInput, RunConfigOptions, RunConfigType } from "./run-config.ts";

/** Where a registered flow is loaded from when a backed run executes it. */
export type Storage = { type: "Local"; path: string } | { type: "Module"; module: string };

export interface FlowOptions {
  schedule?: Schedule;
  /** `new LocalRun({ env, labels })`, `new UniversalRun(…)`, or a plain `{ env, labels }` (a UniversalRun). */
  runConfig?: RunConfigInput;
  /** Default result for every task that sets none. */
  result?: Result;
  /** Tasks (or task slugs) whose states decide the run's; default: the terminal tasks. */
  referenceTasks?: Array<Task<never[], unknown> | string>;
}

/** The built graph of a flow: nodes in the order the build function recorded them (a topological order). */
export interface FlowGraph {
  readonly nodes: readonly GraphNode[];
  readonly bySlug: ReadonlyMap<string, GraphNode>;
  readonly parameters: readonly ParameterNode[];
  readonly tasks: readonly TaskNode[];
  readonly downstream: ReadonlyMap<string, readonly string[]>;
  readonly referenceSlugs: readonly string[];
}

export class Flow {
  readonly name: string;
  readonly options: FlowOptions;
  /** Set by the loader (or `flow.storage = …`) so a registered flow can be found again. */
  storage: Storage | undefined;
  private readonly build: () => unknown;
  private built: FlowGraph | undefined;
  private readonly resolvedRunConfig: RunConfig;

  constructor(name: string, build: () => unknown, options: FlowOptions = {}) {
    if (typeof name !== "string" || !name.trim()) throw validationError("a Flow needs a name");
    if (typeof build !== "function") throw validationError(`flow '${name}': the second argument must be a build function`);
    this.name = name;
    this.build = build;
    this.options = options;
    try {
      this.resolvedRunConfig = toRunConfig(options.runConfig);
    } catch (e) {
      if (e instanceof PrefectliteError) throw new PrefectliteError(e.code, `flow '${name}': ${e.message}`);
      throw e;
    }
  }

  get schedule(): Schedule | undefined {
    return this.options.schedule;
  }

  get runConfig(): RunConfig {
    return this.resolvedRunConfig;
  }

  /** The graph, built on first use (so build functions may use tasks declared later in the file). */
  get graph(): FlowGraph {
    this.built ??= this.buildGraph();
    return this.built;
  }

  private buildGraph(): FlowGraph {
    const builder = new GraphBuilder();
    try {
      buildWith(builder, this.build);
    } catch (e) {
      if (e instanceof PrefectliteError) throw new PrefectliteError(e.code, `flow '${this.name}': ${e.message}`);
      throw e;
    }
    const nodes = builder.nodes;
    const bySlug = new Map(nodes.map((n) => [n.slug, n]));
    const tasks = nodes.filter((n): n is TaskNode => n.kind === "task");
    const downstream = new Map<string, string[]>(nodes.map((n) => [n.slug, []]));
    for (const t of tasks) for (const up of upstreamSlugs(t)) downstream.get(up)!.push(t.slug);
    return {
      nodes,
      bySlug,
      parameters: nodes.filter((n): n is ParameterNode => n.kind === "parameter"),
      tasks,
      downstream,
      referenceSlugs: this.resolveReferenceSlugs(nodes, downstream),
    };
  }

  private resolveReferenceSlugs(nodes: readonly GraphNode[], downstream: Map<string, string[]>): string[] {
    const refs = this.options.referenceTasks;
    if (!refs?.length) return nodes.filter((n) => downstream.get(n.slug)!.length === 0).map((n) => n.slug);
    const out: string[] = [];
    for (const ref of refs) {
      const matches =
        typeof ref === "string"
          ? nodes.filter((n) => n.slug === ref)
          : nodes.filter((n) => n.kind === "task" && n.definition === ref.definition);
      if (matches.length === 0) {
        const label = typeof ref === "string" ? ref : ref.definition.name;
        throw validationError(`flow '${this.name}': reference task '${label}' is not part of the flow`);
      }
      out.push(...matches.map((n) => n.slug));
    }
    return out;
  }
}

export function isFlow(value: unknown): value is Flow {
  return value instanceof Flow;
}
