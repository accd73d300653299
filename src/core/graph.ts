import { PrefectliteError } from "./errors.ts";
import type { ParameterType } from "./parameter-types.ts";
import type { TaskDefinition } from "./task.ts";

/** A typed reference to the future result of a task (or parameter) in a flow being built. */
export class Handle<T> {
  /** Phantom: carries T for the type checker only. */
  declare readonly __result?: T;
  readonly #owner: object | undefined;
  constructor(
    readonly slug: string,
    /** The graph builder that recorded it: a handle is only valid within its own flow. */
    owner?: object,
  ) {
    this.#owner = owner;
  }
  belongsTo(owner: object): boolean {
    return this.#owner === owner;
  }
}

/** Marks an argument of `.map()` to be passed whole to every child instead of mapped over. */
export class Unmapped<T> {
  declare readonly __value?: T;
  constructor(readonly value: T | Handle<T>) {}
}

export function unmapped<T>(value: T | Handle<T>): Unmapped<T> {
  return new Unmapped<T>(value);
}

export type ArgSpec = { kind: "constant"; value: unknown } | { kind: "ref"; slug: string };

export interface TaskNode {
  kind: "task";
  slug: string;
  definition: TaskDefinition;
  args: ArgSpec[];
  /** For a mapped call: which arguments are mapped over (others are passed whole). */
  mappedArgs: boolean[] | undefined;
  /** Upstreams that pass no data (from `.after()`). */
  extraUpstream: string[];
}

export interface ParameterNode {
  kind: "parameter";
  slug: string;
  name: string;
  default: unknown;
  hasDefault: boolean;
  required: boolean;
  type: ParameterType;
}

export type GraphNode = TaskNode | ParameterNode;

/** Collects the nodes a flow's build function records. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  private readonly countByName = new Map<string, number>();
  private readonly slugs = new Set<string>();

  addParameter(name: string, def: unknown, hasDefault: boolean, required: boolean, type: ParameterType = "any"): Handle<unknown> {
    if (this.slugs.has(name)) {
      throw new PrefectliteError("Validation", `the flow already has a task or parameter with slug '${name}'`);
    }
    this.slugs.add(name);
    this.nodes.push({ kind: "parameter", slug: name, name, default: def, hasDefault, required, type });
    return new Handle(name, this);
  }

  addTask(
    definition: TaskDefinition,
    args: readonly unknown[],
    mapped: boolean,
    extraUpstream: readonly Handle<unknown>[] = [],
  ): Handle<unknown> {
    // Resolve the arguments first: they must be handles recorded earlier in this flow.
    const mappedArgs = mapped ? args.map((a) => !(a instanceof Unmapped)) : undefined;
    const specs = args.map((a) => this.argSpec(a instanceof Unmapped ? a.value : a));
    const after = extraUpstream.map((h) => this.requireKnown(h));
    const n = (this.countByName.get(definition.name) ?? 0) + 1;
    this.countByName.set(definition.name, n);
    let slug = `${definition.name}-${n}`;
    while (this.slugs.has(slug)) slug = `${slug}-x`;
    this.slugs.add(slug);
    this.nodes.push({ kind: "task", slug, definition, args: specs, mappedArgs, extraUpstream: after });
    return new Handle(slug, this);
  }

  private argSpec(value: unknown): ArgSpec {
    if (value instanceof Handle) return { kind: "ref", slug: this.requireKnown(value) };
    if (Array.isArray(value) && value.some((v) => v instanceof Handle)) {
      throw new PrefectliteError(
        "Validation",
        "a list of task results cannot be passed as one argument: pass each handle as its own argument, or map over a task that returns the list",
      );
    }
    return { kind: "constant", value };
  }

  private requireKnown(handle: Handle<unknown>): string {
    if (!(handle instanceof Handle) || !handle.belongsTo(this) || !this.slugs.has(handle.slug)) {
      throw new PrefectliteError(
        "Validation",
        `'${handle.slug}' belongs to another flow: pass handles only within the flow that created them`,
      );
    }
    return handle.slug;
  }
}

let activeBuilder: GraphBuilder | undefined;

/** Run a flow's build function with `builder` receiving the task calls it makes. */
export function buildWith(builder: GraphBuilder, build: () => unknown): void {
  if (activeBuilder) throw new PrefectliteError("Validation", "a flow cannot be built inside another flow's build function");
  activeBuilder = builder;
  try {
    build();
  } finally {
    activeBuilder = undefined;
  }
}

export function currentBuilder(what: string): GraphBuilder {
  if (!activeBuilder) {
    throw new PrefectliteError(
      "Usage",
      `${what} was called outside a flow's build function: call tasks inside new Flow(name, () => { … }), or call .fn(...) to run the plain function`,
    );
  }
  return activeBuilder;
}

export function upstreamSlugs(node: TaskNode): string[] {
  const out = new Set<string>();
  for (const a of node.args) if (a.kind === "ref") out.add(a.slug);
  for (const s of node.extraUpstream) out.add(s);
  return [...out];
}
