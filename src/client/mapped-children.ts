import { settings } from "../settings.ts";
import type { TaskRunRow } from "./backend.ts";

/**
 * Children 0…count-1 fetched in pages of MAPPED_CHILDREN_PAGE (at most
 * PREFECTLITE_MAX_MAPPED_CHILDREN_PER_CALL, the most the backend creates in one call): each page
 * is one short transaction, and between pages the client pauses a moment so that other writers
 * of the database — `serve`, when this process writes the file itself — take the write lock in
 * between. Creating is idempotent: a page that fails can be asked again.
 */
export async function mappedChildrenInPages(count: number, page: (start: number, count: number) => Promise<TaskRunRow[]>): Promise<TaskRunRow[]> {
  const size = Math.min(MAPPED_CHILDREN_PAGE, settings.maxMappedChildrenPerCall());
  if (count <= size) return page(0, count);
  const all: TaskRunRow[] = [];
  for (let start = 0; start < count; start += size) {
    if (start > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_PAGES_MS));
    for (const row of await page(start, Math.min(size, count - start))) all.push(row);
  }
  return all;
}

/** Children per page: ~12 ms of inserts (a page of 10,000 held the write lock ~170 ms). */
export const MAPPED_CHILDREN_PAGE = 1000;
/** Long enough for a writer waiting on the lock (serve polls it every few ms) to take it. */
const PAUSE_BETWEEN_PAGES_MS = 2;
