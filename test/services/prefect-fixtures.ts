import { gzipSync } from "node:zlib";

/**
 * A flow as Prefect Core 1.4.1's `flow.serialize()` gives it (the keys and value forms observed
 * on the wire, written by hand): Parameter `n`, `add(n, 4)` with two retries 3 s apart and tag
 * "a", `say(add)`, and `say` mapped over an auto-generated constant task. Local storage, LocalRun.
 */
export function prefectFlow(name = "py-hello"): Record<string, any> {
  const version = "1.4.1";
  const trigger = { fn: "prefect.triggers.all_successful", kwargs: {} };
  const task = (slug: string, taskName: string, type: string, extra: Record<string, unknown> = {}) => ({
    slug,
    name: taskName,
    type,
    auto_generated: false,
    timeout: null,
    tags: [],
    skip_on_upstream_skip: true,
    inputs: {},
    outputs: "typing.Any",
    retry_delay: null,
    max_retries: 0,
    trigger,
    cache_key: null,
    __version__: version,
    ...extra,
  });
  const edge = (up: string, down: string, key: string, mapped = false) => ({
    key,
    mapped,
    flattened: false,
    upstream_task: { slug: up, __version__: version },
    downstream_task: { slug: down, __version__: version },
    __version__: version,
  });
  const fn = "prefect.tasks.core.function.FunctionTask";
  const any = { required: true, type: "typing.Any" };
  return {
    name,
    type: "prefect.core.flow.Flow",
    schedule: null,
    parameters: [{ name: "n", slug: "n", default: 3, required: false, tags: [], type: "prefect.core.parameter.Parameter", __version__: version }],
    tasks: [
      task("[1, 2]-1", "[1, 2]", "prefect.tasks.core.constants.Constant", { auto_generated: true }),
      task("add-a-1", "add", fn, { tags: ["a"], max_retries: 2, retry_delay: 3, inputs: { x: any, y: any }, description: "Adds two numbers." }),
      task("n", "n", "prefect.core.parameter.Parameter"),
      task("say-1", "say", fn, { inputs: { v: any } }),
      task("say-2", "say", fn, { inputs: { v: any }, cache_key: "say-cache" }),
    ],
    edges: [edge("[1, 2]-1", "say-2", "v", true), edge("add-a-1", "say-1", "v"), edge("n", "add-a-1", "x")],
    reference_tasks: [],
    run_config: { type: "LocalRun", env: null, labels: ["py"], working_dir: null, __version__: version },
    storage: {
      type: "Local",
      directory: "/home/user/.prefect/flows",
      flows: { [name]: `/home/user/.prefect/flows/${name}/2026-12-02t01-00-00-000000-00-00` },
      path: null,
      stored_as_script: false,
      secrets: [],
      __version__: version,
    },
    __version__: version,
  };
}

/** Prefect 1.4.1's client registers the flow without its tasks and edges, then sends those separately. */
export function splitForRegistration(flow: Record<string, any>) {
  const { tasks, edges, ...rest } = flow;
  return { flow: rest, tasks: tasks as Record<string, any>[], edges: edges as Record<string, any>[] };
}

/** create_flow_from_compressed_string's form: base64 of gzip of the JSON. */
export function compress(value: unknown): string {
  return gzipSync(Buffer.from(JSON.stringify(value))).toString("base64");
}
