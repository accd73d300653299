import { PrefectliteError } from "../../core/errors.ts";
import type { BackendClient } from "../client.ts";
import { MAPPED_CHILD_PAGE } from "../documents.ts";
import type { TaskRunRow } from "./rows.ts";

/** How many children one query reads (never all of a large map at once). */
export const CHILD_PAGE_SIZE = 500;
/** How many result files are read at the same time. */
export const RESULT_READ_CONCURRENCY = 32;

/** One page of a mapped task run's children, map index ascending, after `afterIndex`. */
export async function childPage(
  client: BackendClient,
  flowRunId: string,
  taskSlug: string,
  afterIndex: number,
  limit = CHILD_PAGE_SIZE,
): Promise<TaskRunRow[]> {
  const data = await client.graphql<{ task_run: TaskRunRow[] }>(MAPPED_CHILD_PAGE, { flowRunId, slug: taskSlug, after: afterIndex, limit });
  return data.task_run;
}

/** Every child row, page by page (each page handed over before the next is read). */
export async function* childPages(client: BackendClient, flowRunId: string, taskSlug: string, pageSize = CHILD_PAGE_SIZE) {
  let after = -1;
  for (;;) {
    const page = await childPage(client, flowRunId, taskSlug, after, pageSize);
    if (page.length === 0) return;
    yield page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.map_index;
  }
}

/** `fn` over every item with at most `limit` calls in flight; results in item order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Children must be numbered 0…n-1 with no gap: a gap means the map is incomplete. */
export function checkContiguous(rows: readonly TaskRunRow[], expectedStart: number, label: string): void {
  rows.forEach((row, i) => {
    if (row.map_index !== expectedStart + i) {
      throw new PrefectliteError(
        "NotFound",
        `The results of mapped task run '${label}' cannot be loaded: child ${expectedStart + i} has no task run`,
      );
    }
  });
}
